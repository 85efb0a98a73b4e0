/**
 * Process entry of the runtime, and the esbuild bundle entry. Subcommands dispatch to their own
 * modules so that each stays independent: `stunnerd auth ...` is the ICE auth service,
 * `stunnerd icetest ...` the end-to-end gateway check (what `stunnerctl icetest` and the smoke-test
 * Job run), `stunnerd turncat ...` the tunnel (what bin/turncat.mjs runs), `stunnerd ctl ...` the
 * operator tool (what bin/stunnerctl.mjs runs); anything else is the TURN relay daemon. The tools
 * ride in the runtime's one bundle, so an installed package ships one prebuilt program.
 */
const argv = process.argv.slice(2);
if (argv[0] === 'auth') {
  const { main } = await import('./ice/cli.js');
  await main(argv.slice(1));
} else if (argv[0] === 'icetest') {
  const { main } = await import('./cli/icetest.js');
  process.exit(await main(argv.slice(1)));
} else if (argv[0] === 'ctl') {
  const { main } = await import('./cli/stunnerctl.js');
  process.exit(await main(argv.slice(1)));
} else if (argv[0] === 'turncat') {
  const { main } = await import('./cli/turncat.js');
  process.exit(await main(argv.slice(1)));
} else {
  const { main } = await import('./cli/stunnerd-cli.js');
  await main(argv);
}

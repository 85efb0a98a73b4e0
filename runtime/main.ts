/**
 * Process entry of the runtime, and the esbuild bundle entry. Subcommands dispatch to their own
 * modules so that each stays independent: `stunnerd auth ...` is the ICE auth service, anything
 * else is the TURN relay daemon.
 */
const argv = process.argv.slice(2);
if (argv[0] === 'auth') {
  const { main } = await import('./ice/cli.js');
  await main(argv.slice(1));
} else {
  const { main } = await import('./cli/stunnerd-cli.js');
  await main(argv);
}

/**
 * Process entry of the runtime: `stunnerd auth ...` is the ICE auth service, anything else the
 * TURN relay daemon (runtime/process/cli.ts). Each loads its own modules, so that neither pays
 * for the other. The pods' bundle starts here through tools/pod-main.ts, which adds
 * `stunnerd icetest` for the smoke-test Job; the operator tools are not part of the runtime.
 */
const argv = process.argv.slice(2);
if (argv[0] === 'auth') {
  const { main } = await import('./ice/cli.js');
  await main(argv.slice(1));
} else {
  const { main } = await import('./process/cli.js');
  await main(argv);
}

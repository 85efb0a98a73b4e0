/**
 * The program the gateway pods run: the runtime's bundle entry (build/runtime-bundle.ts). It is the
 * runtime (runtime/main.ts: the relay daemon and `stunnerd auth`) plus one tool, `stunnerd icetest`,
 * which the smoke-test Job (constructs/gitops/smoke-test.ts) runs from the same bundle and image.
 * It sits here, above both layers, because runtime/ never imports tools/. icetest comes without a
 * gateway reader (it reads -c only), so no other tool and no gateway source rides in the pods.
 */
const argv = process.argv.slice(2);
if (argv[0] === 'icetest') {
  const { main } = await import('./icetest/icetest.js');
  process.exit(await main(argv.slice(1)));
} else {
  await import('../runtime/main.js');
}

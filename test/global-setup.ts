/**
 * Once per test run, before any test:
 * - the runtime assets (lib/assets), which every synth reads, rebuilt from the current sources so
 *   that no construct or dist/ test reads a stale runtime;
 * - the pods' Node.js release (bench/pod-node.ts), which the pod reproductions and the relay-thread
 *   tests run on, installed here so that no test's time limit includes the download; a failure
 *   stops the run with the registry's reason.
 */
import { ensurePodNode, POD_NODE_VERSION } from '../bench/pod-node.js';
import { writeAssets } from '../build/assets.js';

export default function setup(): void {
  writeAssets();
  const why = ensurePodNode();
  if (why) throw new Error(`the tests run the gateway pods on Node.js ${POD_NODE_VERSION}: ${why}`);
}

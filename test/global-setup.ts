/**
 * Once per test run: the pods' Node.js release (bench/pod-node.ts), which the pod reproductions and
 * the relay-thread tests run on. Installed here, before any test, so that no test's time limit
 * includes the download; a failure stops the run with the registry's reason.
 */
import { ensurePodNode, POD_NODE_VERSION } from '../bench/pod-node.js';

export default function setup(): void {
  const why = ensurePodNode();
  if (why) throw new Error(`the tests run the gateway pods on Node.js ${POD_NODE_VERSION}: ${why}`);
}

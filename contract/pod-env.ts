/**
 * The environment the runtime's pods read: the constructs set these variables (mostly from the
 * Downward API), `stunnerd` and `stunnerd auth` read them, and the dataplane config refers to them
 * as `$STUNNER_ADDR`. The demo servers' own variables are DemoEnv (demo-layout.ts).
 */

export const RuntimeEnv = {
  /** The pod's IP: listeners bind it, and `$STUNNER_ADDR` in the config becomes it. */
  ADDR: 'STUNNER_ADDR',
  /** The gateway's Service name: the watcher reads its public address. */
  NAME: 'STUNNER_NAME',
  /** The gateway's namespace. */
  NAMESPACE: 'STUNNER_NAMESPACE',
  /** The pod's node: turns on the watcher's node-address fallback. */
  NODENAME: 'STUNNER_NODENAME',
  /** `stunnerd auth`: the host of every TURN URI it answers with. */
  PUBLIC_ADDR: 'STUNNER_PUBLIC_ADDR',
} as const;
export type RuntimeEnvName = (typeof RuntimeEnv)[keyof typeof RuntimeEnv];

/** The prefix every RuntimeEnv name has: variables that describe the pod they are set in. */
export const RUNTIME_ENV_PREFIX = 'STUNNER_';

/** A variable reference in the dataplane config, which the runtime substitutes (`$NAME`). */
export function envRef(name: RuntimeEnvName): string {
  return `$${name}`;
}

/** The pod IP in a listener address or a headless route's endpoints: `$STUNNER_ADDR`. */
export const POD_ADDRESS = envRef(RuntimeEnv.ADDR);

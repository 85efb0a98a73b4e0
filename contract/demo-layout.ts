/**
 * How a demo server (demo-servers/: the UDP greeter, the direct-call signaling server, the Janus
 * echo-test page server) is laid out in its pod, and the environment it reads. The build writes
 * the bundles, the constructs render the pods, and the servers read the variables: all three
 * import these names, none imports another.
 *
 * Like the runtime, a demo server ships as a gzipped bundle in a ConfigMap run by the pinned stock
 * Node.js image (NODE_IMAGE); every path is relative to the working directory.
 */

/** The demo servers the package ships (lib/assets/demos/<name>.mjs.gz). */
export const DEMO_SERVERS = [
  'udp-greeter',
  'direct-call',
  'janus-echo',
  'cloudretro-ice',
  'mediasoup-landing',
] as const;
export type DemoServerName = (typeof DEMO_SERVERS)[number];

/** The container's working directory. */
export const DEMO_WORKDIR = '/demo';
/** The demo's ConfigMap: the bootstrap (readable) and the gzipped bundle. */
export const DEMO_BUNDLE_DIR = 'bundle';
/** Writable, memory-backed: the decompressed bundle. */
export const DEMO_RUN_DIR = 'run';
/** Key of the bootstrap in the demo's ConfigMap. */
export const DEMO_BOOTSTRAP_FILE = 'bootstrap.mjs';
/** Key of the gzipped bundle in the demo's ConfigMap. */
export const DEMO_BUNDLE_FILE = 'server.mjs.gz';

/** The container command of every demo server. */
export function demoCommand(): { command: string[]; args: string[] } {
  return {
    command: ['node', `${DEMO_BUNDLE_DIR}/${DEMO_BOOTSTRAP_FILE}`],
    args: ['--run', DEMO_RUN_DIR],
  };
}

/** Environment variables the demo servers read. */
export const DemoEnv = {
  /** The pod's IP (Downward API): UDP servers bind it, so replies leave from the routed address. */
  POD_IP: 'POD_IP',
  /** Port the server listens on. */
  PORT: 'PORT',
  /** udp-greeter: the text put before every datagram it echoes. */
  GREETING: 'GREETING',
  /** Base URL of the ICE auth service (`GET /ice`). */
  ICE_AUTH_URL: 'STUNNER_AUTH_URL',
  /** `/ice` filters, as in STUNner's direct-call tutorial. */
  ICE_NAMESPACE: 'STUNNER_NAMESPACE',
  ICE_GATEWAY: 'STUNNER_GATEWAY',
  ICE_LISTENER: 'STUNNER_LISTENER',
  /** `relay` (the demos' default) or `all`. */
  ICE_TRANSPORT_POLICY: 'ICE_TRANSPORT_POLICY',
  /** Lifetime asked for ephemeral TURN credentials, in seconds. */
  ICE_TTL_SECONDS: 'ICE_TTL_SECONDS',
  /** janus-echo: base URL of Janus's HTTP API (its ordinary Service). */
  JANUS_URL: 'JANUS_URL',
  /** cloudretro-ice: JSON list of the ICE auth services to ask, `[{url, namespace?, gateway?}]`. */
  CLOUDRETRO_ICE_SOURCES: 'CLOUDRETRO_ICE_SOURCES',
  /** cloudretro-ice: directory (relative to the working directory) it writes CloudRetro's config in. */
  CLOUDRETRO_CONFIG_DIR: 'CLOUDRETRO_CONFIG_DIR',
  /** cloudretro-ice: seconds between checks for a changed gateway address. */
  CLOUDRETRO_ICE_POLL_SECONDS: 'CLOUDRETRO_ICE_POLL_SECONDS',
  /** mediasoup-landing: the mediasoup client URL the browser is sent to. */
  MEDIASOUP_URL: 'MEDIASOUP_URL',
  /** direct-call: origins besides the page's own whose pages may open signaling (comma-separated). */
  ALLOWED_ORIGINS: 'ALLOWED_ORIGINS',
} as const;

/** Defaults shared by the constructs and the servers. */
export const DEMO_DEFAULTS = {
  greeterPort: 9001,
  greeting: 'Hello from the udp-greeter:',
  webPort: 8000,
  iceTtlSeconds: 3600,
  janusHttpPort: 8089,
  /** cloudretro-ice: its status port (the coordinator's liveness probe asks it). */
  cloudRetroIcePort: 8090,
  cloudRetroIcePollSeconds: 30,
  /** cloudretro-ice: CloudRetro's config file, and the same ICE servers as env assignments. */
  cloudRetroConfigFile: 'config.yaml',
  cloudRetroEnvFile: 'ice.env',
} as const;

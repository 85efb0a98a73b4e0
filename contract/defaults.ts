/**
 * Defaults that the runtime and the constructs must agree on. They live here, and only here, so
 * that a rendered manifest and the process it starts cannot disagree about a port or a name.
 */

export const DEFAULT_ADMIN_NAME = 'default-stunnerd';
export const DEFAULT_REALM = 'stunner.l7mp.io';
/** The TURN port, STUNner's and RFC 8656's. */
export const DEFAULT_PORT = 3478;
/** The TURN-over-TLS port (`turns:` URIs without a port), RFC 8656's. */
export const DEFAULT_TLS_PORT = 5349;
export const DEFAULT_LOGLEVEL = 'all:INFO';
/** `/live`, `/ready`, `/status`. */
export const DEFAULT_HEALTHCHECK_PORT = 8086;
export const DEFAULT_HEALTHCHECK_ENDPOINT = `http://:${DEFAULT_HEALTHCHECK_PORT}`;
/** Prometheus `/metrics`. */
export const DEFAULT_METRICS_PORT = 8080;
export const DEFAULT_METRICS_PATH = '/metrics';
/** The ICE auth service's HTTP port (`GET /ice`), STUNner's. */
export const DEFAULT_ICE_AUTH_PORT = 8088;
/**
 * The ICE auth service's longest credential lifetime (`stunnerd auth --max-ttl`, IceAuthService
 * `maxTtl`): longer `ttl` requests get this. One day, STUNner's default `ttl`.
 */
export const DEFAULT_ICE_AUTH_MAX_TTL = 86_400;
/** The longest `ttl` (and `--max-ttl`) the ICE auth service takes: a year. */
export const ICE_AUTH_TTL_LIMIT = 365 * 86_400;
/** The ICE auth service's connections of all clients together (the highest per-IP cap). */
export const ICE_AUTH_MAX_CONNECTIONS = 1024;
/**
 * Connections one client IP may hold open to the ICE auth service (`--max-connections-per-ip`,
 * IceAuthService `maxConnectionsPerIp`); more are closed at accept, so that one client cannot
 * starve the others or the kubelet's probes.
 */
export const DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP = 64;
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
/** Global allocation cap (our extension): bounds memory and file descriptors per gateway pod. */
export const DEFAULT_MAX_ALLOCATIONS = 10_000;
/**
 * The relay port range of a listener that sets none, where a range must be known (a headless
 * route admits only the gateway pods' relay ports): Linux's default ephemeral range
 * (net.ipv4.ip_local_port_range, 32768-60999), the ports the kernel picks from when the runtime
 * binds port 0. A gateway with a headless route renders this range on such listeners, so the
 * runtime allocates in it whatever the node's sysctl says.
 */
export const FALLBACK_RELAY_PORT_MIN = 32_768;
export const FALLBACK_RELAY_PORT_MAX = 60_999;

/** `stunnerd --log-format`: text lines (the default) or one JSON object per line. */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * The dataplane config as plain types: what the runtime serves and the constructs render. They are
 * written out here, rather than inferred from the zod schema, so that the published declarations
 * need no zod; schema.ts checks at compile time that the schema produces exactly these types.
 */

export const API_VERSION = 'v1';
export const LISTENER_PROTOCOLS = ['TURN-UDP', 'TURN-TCP', 'TURN-TLS', 'TURN-DTLS'] as const;
export type ListenerProtocol = (typeof LISTENER_PROTOCOLS)[number];
/** The short spellings the config also accepts (any letter case), as STUNner does. */
export const LISTENER_PROTOCOL_ALIASES: Readonly<Record<string, ListenerProtocol>> = {
  UDP: 'TURN-UDP',
  TCP: 'TURN-TCP',
  TLS: 'TURN-TLS',
  DTLS: 'TURN-DTLS',
};
export const CLUSTER_TYPES = ['STATIC', 'STRICT_DNS'] as const;
export type ClusterType = (typeof CLUSTER_TYPES)[number];
export const CLUSTER_PROTOCOLS = ['UDP', 'TCP'] as const;
export type ClusterProtocol = (typeof CLUSTER_PROTOCOLS)[number];
export const AUTH_TYPES = ['static', 'ephemeral'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];
export const LOG_LEVELS = ['DISABLE', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const OFFLOAD_ENGINES = ['None', 'XDP', 'TC', 'Auto'] as const;
export type OffloadEngine = (typeof OFFLOAD_ENGINES)[number];

/** Default of admin.max_connections_per_ip (extension): TCP/TLS connections one client IP may hold per listener. */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 100;
/** Default of admin.new_connections_per_ip (extension): new TCP/TLS connections per second from one IP. */
export const DEFAULT_NEW_CONNECTIONS_PER_IP = 20;

/** Default of admin.client_quota (extension): allocations (EVEN-PORT reservations included) one client IP may hold. */
export const DEFAULT_CLIENT_QUOTA = 200;
/** Default of admin.auth_failures_per_ip (extension): 0, the per-IP failed-authentication limit is off. */
export const DEFAULT_AUTH_FAILURES_PER_IP = 0;
/**
 * The window of admin.auth_failures_per_ip, in seconds: failures are counted from an IP's first
 * failure for this long; once the limit is reached, that IP's TURN requests are dropped until the
 * window ends. A correct password is therefore never refused for longer than this.
 */
export const AUTH_FAILURE_WINDOW_S = 10;

/** A validated config with every default filled in. */
export interface StunnerConfig {
  version: 'v1';
  admin: AdminConfig;
  auth: AuthConfig;
  listeners: ListenerConfig[];
  clusters: ClusterConfig[];
}

export interface AdminConfig {
  /** Gateway name; the operator convention is `<namespace>/<gateway>`. */
  name: string;
  /** Log levels per scope, e.g. `all:INFO,turn:DEBUG`. */
  loglevel: string;
  /** Prometheus endpoint, e.g. `http://:8080/metrics`; empty disables metrics. */
  metrics_endpoint: string;
  /** Serves /live, /ready and /status; empty disables it. */
  healthcheck_endpoint: string;
  /** Allocations per username (per user id for ephemeral auth: `<expiry>:<user-id>` counts as `<user-id>`); 0 means no quota. */
  user_quota: number;
  /** Extension: allocations one client IP may hold, EVEN-PORT reservations included; 0 = unlimited. */
  client_quota: number;
  /** Extension: failed authentications one client IP may make in AUTH_FAILURE_WINDOW_S seconds before its requests are dropped for the rest of the window; 0 = off. */
  auth_failures_per_ip: number;
  /** Extension: global cap on concurrent allocations. */
  max_allocations: number;
  /** Extension: concurrent TCP/TLS connections one client IP may hold per listener; 0 = unlimited. */
  max_connections_per_ip: number;
  /** Extension: new TCP/TLS connections per second one client IP may open per listener (bursts up to twice that); 0 = unlimited. */
  new_connections_per_ip: number;
  /** Extension: relay threads (honoured where dgram supports reusePort). */
  threads: number;
  /** Accepted for STUNner compatibility; this runtime has no kernel offload. */
  offload_engine?: OffloadEngine | undefined;
  offload_interfaces?: string[] | undefined;
  license_config?: { key: string; hmac: string } | undefined;
}

export interface AuthConfig {
  type: AuthType;
  realm: string;
  /** `username` and `password` for static auth, `secret` for ephemeral auth. */
  credentials: { username?: string | undefined; password?: string | undefined; secret?: string | undefined };
}

export interface ListenerConfig {
  name: string;
  protocol: ListenerProtocol;
  address: string;
  port: number;
  /** Address clients reach the listener at (informational). */
  public_address?: string | undefined;
  public_port?: number | undefined;
  /** Extension (from v1alpha1): relay port range; absent means kernel-assigned ports. */
  min_relay_port?: number | undefined;
  max_relay_port?: number | undefined;
  /** Base64-encoded PEM certificate (TURN-TLS, TURN-DTLS). */
  cert?: string | undefined;
  /** Base64-encoded PEM private key (TURN-TLS, TURN-DTLS). */
  key?: string | undefined;
  /** Names of the clusters this listener may relay to. */
  routes: string[];
}

export interface ClusterConfig {
  name: string;
  type: ClusterType;
  protocol: ClusterProtocol;
  /** IP, IP/prefix or DNS name (STRICT_DNS), optionally followed by `:<lo-hi>` to limit peer ports. */
  endpoints: string[];
}

type Optional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/** A config as written by hand: defaults optional (the validator also accepts aliases and any letter case). */
export interface StunnerConfigInput {
  version: 'v1';
  admin?: Partial<AdminConfig> | undefined;
  auth: Optional<AuthConfig, 'type' | 'realm'>;
  listeners?: Optional<ListenerConfig, 'protocol' | 'address' | 'port' | 'routes'>[] | undefined;
  clusters?: Optional<ClusterConfig, 'type' | 'protocol' | 'endpoints'>[] | undefined;
}

export function isTlsProtocol(p: ListenerProtocol): boolean {
  return p === 'TURN-TLS' || p === 'TURN-DTLS';
}

/** The protocol a listener name or alias stands for, in any letter case, or undefined. */
export function listenerProtocolOf(s: string): ListenerProtocol | undefined {
  const u = s.toUpperCase();
  return LISTENER_PROTOCOLS.find((p) => p === u) ?? LISTENER_PROTOCOL_ALIASES[u];
}

/** The transport a listener's socket uses, which is what must not collide on one port. */
export function listenerTransport(p: ListenerProtocol): 'udp' | 'tcp' {
  return p === 'TURN-UDP' || p === 'TURN-DTLS' ? 'udp' : 'tcp';
}

/** The listener's transport as a Service or NetworkPolicy port protocol. */
export function listenerServiceProtocol(p: ListenerProtocol): 'UDP' | 'TCP' {
  return listenerTransport(p) === 'udp' ? 'UDP' : 'TCP';
}

/** The URI scheme of a listener (RFC 7065): `turns` for TLS and DTLS, `turn` otherwise. */
export function turnScheme(p: ListenerProtocol): 'turn' | 'turns' {
  return isTlsProtocol(p) ? 'turns' : 'turn';
}

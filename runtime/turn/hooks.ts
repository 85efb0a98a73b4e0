/**
 * What turn/ needs from the layers above it, as small interfaces: it calls them, they implement
 * them. policy/ answers who may do what (credentials, nonces, the route perimeter, quotas);
 * transport/ moves the bytes (client links, relay sockets). turn/ itself opens no socket.
 */
import type { TurnError } from './errors.js';
import type { ClusterStats, ListenerStats } from './stats.js';

/** The part of a listener an allocation needs. */
export interface ListenerContext {
  readonly name: string;
  readonly stats: ListenerStats;
}

/**
 * Where answers and relayed data for one client go: a UDP 5-tuple on a listener socket, or a
 * TCP/TLS connection (transport/client-link.ts).
 */
export interface ClientLink {
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly stats: ListenerStats;
  /** A STUN message (response or Data indication prefix + payload + padding). */
  sendStun(buf: Buffer): void;
  /**
   * ChannelData: the 4-byte header for `channel` and buf[start..start+len) as the payload. The
   * bytes may be transient (see transport/udp/receive.ts): copy them if they must outlive the call.
   */
  sendChannelData(channel: number, buf: Buffer, start: number, len: number): void;
  /** Data indication: header+attributes, payload, padding (0..3 bytes). */
  sendParts(head: Buffer, payload: Buffer, pad: number): void;
}

/**
 * One datagram from a peer: buf[start..end) from `port` at `ip` (an IPv4 address as uint32, or -1
 * for IPv6, whose address is in `from`). The bytes may be transient: copy what is kept.
 */
export type PeerDatagramHandler = (
  buf: Buffer,
  start: number,
  end: number,
  ip: number,
  port: number,
  from: { readonly address: string } | undefined,
) => void;

/** An allocation's relay socket (transport/udp/relay-socket.ts). */
export interface PeerSocket {
  /** buf[start..start+len) to port at ip (IPv4 as uint32; -1 for IPv6, which uses `address`). */
  sendRange(buf: Buffer, start: number, len: number, ip: number, port: number, address: string): void;
  /** Delivers every datagram to `handler`; returns the function that detaches it. */
  attach(handler: PeerDatagramHandler): () => void;
  /** Releases the socket. Idempotent. */
  close(): void;
}

export interface RelayRequest {
  readonly family: 4 | 6;
  readonly bindAddress: string;
  readonly minPort?: number | undefined;
  readonly maxPort?: number | undefined;
  readonly even: boolean;
  /** Also reserve port + 1 (EVEN-PORT with the R bit). */
  readonly reserveNext: boolean;
}

export interface BoundRelay {
  readonly socket: PeerSocket;
  readonly port: number;
  readonly reserved?: { readonly socket: PeerSocket; readonly port: number };
}

/** Binds relay sockets (transport/udp/relay-socket.ts). */
export interface RelayPorts {
  /** A relay socket as requested; undefined when no port could be had. */
  bind(req: RelayRequest): Promise<BoundRelay | undefined>;
  /** Exactly this port (e.g. one another relay thread just released). */
  bindExact(family: 4 | 6, address: string, port: number): Promise<PeerSocket | undefined>;
}

/** A port reservation handed over between relay threads. */
export interface Claimed {
  readonly port: number;
  readonly family: 4 | 6;
}

/** Asks the other relay threads to release a reservation (token hex) for this one. */
export type ClaimRemote = (tokenHex: string) => Promise<Claimed | undefined>;

/** Outcome of a perimeter check. `ranges` null means any port; else flat [lo, hi, lo, hi, ...]. */
export interface Admission {
  readonly cluster: { readonly stats: ClusterStats };
  readonly ranges: readonly number[] | null;
  /** Listener ports of the gateway that stay closed on this peer (null: none). */
  readonly blockedPorts: readonly number[] | null;
}

/** The route perimeter (policy/perimeter.ts resolves, policy/route-match.ts decides): which peers a client on a listener may reach. */
export interface PeerPolicy {
  /** Changes whenever the admitted sets change; permissions remember the generation they saw. */
  readonly generation: number;
  /** An admission, or why not (text). Called per datagram after a generation change. */
  check(listener: string, ip: string): Admission | string;
}

/** Quotas and draining (policy/quota.ts): may `user` have one more allocation? */
export interface AllocationQuota {
  readonly draining: boolean;
  /**
   * undefined when admitted; `active` counts allocations being created too; `clientCount` is what
   * the client's IP address holds (allocations and reservations).
   */
  admit(user: string, userCount: number, active: number, clientCount: number): TurnError | undefined;
}

export type KeyLookup =
  | { readonly ok: true; readonly key: Buffer; readonly user: string }
  | { readonly ok: false; readonly reason: string };

/** Long-term credentials (policy/auth): username -> MESSAGE-INTEGRITY key. */
export interface CredentialStore {
  readonly realm: string;
  lookup(username: string): KeyLookup;
}

/**
 * The per-client-IP failed-authentication limit (policy/auth/failure-limit.ts, admin.auth_failures_per_ip):
 * `blocked` is asked before authenticating a request, `failed` after a failure.
 */
export interface AuthFailureLimit {
  blocked(ip: string): boolean;
  failed(ip: string): void;
}

/** Stateless nonces (policy/auth/nonce.ts). */
export interface Nonces {
  issue(clientKey: string): string;
  check(nonce: string, clientKey: string): 'ok' | 'stale' | 'invalid';
}

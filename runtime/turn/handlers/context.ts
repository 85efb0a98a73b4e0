/**
 * What every TURN request handler shares: who sent the request and how to answer it, the state
 * and hooks the handlers use (all owned elsewhere: the allocation table, the credential store, the
 * nonces), and the small helpers that build answers. No handler keeps state of its own.
 */
import type { ListenerProtocol } from '../../../contract/config/index.js';
import type { ScopedLogger } from '../../log/logger.js';
import {
  Attr,
  decodeXorAddress,
  ErrorCode,
  MessageClass,
  readUint32,
  type StunMessage,
  StunMessageBuilder,
  type TransportAddress,
} from '../../stun/index.js';
import { ipv4ToInt } from '../../stun/ip.js';
import type { Allocation } from '../allocation.js';
import {
  type AllocationTable,
  DEFAULT_ALLOCATION_LIFETIME_S,
  MAX_ALLOCATION_LIFETIME_S,
} from '../allocation-table.js';
import type { TurnError } from '../errors.js';
import type { AuthFailureLimit, ClientLink, CredentialStore, ListenerContext, Nonces } from '../hooks.js';

/** A listener as the control path sees it. */
export interface TurnListener extends ListenerContext {
  readonly protocol: ListenerProtocol;
  readonly minRelayPort: number | undefined;
  readonly maxRelayPort: number | undefined;
  /** Where relay sockets of a family bind, or undefined when the family is not offered. */
  relayBindAddress(family: 4 | 6): string | undefined;
  /** The relay address reported to clients for a family. */
  relayAddress(family: 4 | 6): string;
  /** False once the listener has been closed. */
  isOpen(): boolean;
}

/** Per-request context: who sent it and how to answer. */
export interface RequestSource {
  readonly listener: TurnListener;
  readonly link: ClientLink;
  /** Key in the allocation table's client index: the 5-tuple on UDP, the connection on streams. */
  readonly clientKey: number | string;
  /** Text key for nonces and the retransmission cache. */
  readonly textKey: string;
  /** The allocation of this client, if any (read from the allocation table's index). */
  allocation(): Allocation | undefined;
  /** False once the client is gone (a closed connection); UDP clients have no such end. */
  isOpen?(): boolean;
}

/** An authenticated request's identity and the key that signs its answers. */
export interface Credentials {
  readonly key: Buffer;
  readonly user: string;
  readonly username: string;
}

/** Signs, caches and sends an answer to an authenticated request. */
export type Respond = (b: StunMessageBuilder) => void;

/** The handler of one authenticated request method. */
export type Handler = (
  ctx: HandlerContext,
  src: RequestSource,
  msg: StunMessage,
  creds: Credentials,
  respond: Respond,
) => void;

/** The handler of a request that acts on the client's allocation. */
export type AllocationHandler = (
  ctx: HandlerContext,
  src: RequestSource,
  msg: StunMessage,
  a: Allocation,
  respond: Respond,
) => void;

/** The server's state as the handlers see it. */
export interface HandlerContext {
  readonly table: AllocationTable;
  readonly log: ScopedLogger;
  readonly nonces: Nonces;
  /** The current credential store (replaced on reconfiguration). */
  readonly credentials: CredentialStore;
  /** The per-IP failed-authentication limit, when on. */
  readonly authLimit: AuthFailureLimit | undefined;
}

export function reply(src: RequestSource, out: Buffer): void {
  src.link.sendStun(out);
}

export function errorAnswer(msg: StunMessage, code: number, reason?: string): StunMessageBuilder {
  return new StunMessageBuilder(msg.method, MessageClass.ERROR, msg.transactionId()).addErrorCode(
    code,
    reason,
  );
}

/** The answer to a TurnError: a 400 carries its reason, 508 while draining says so, others the standard phrase. */
export function errorFor(ctx: HandlerContext, msg: StunMessage, e: TurnError): StunMessageBuilder {
  const reason =
    e.code === ErrorCode.BAD_REQUEST
      ? e.reason
      : e.code === ErrorCode.INSUFFICIENT_CAPACITY && ctx.table.draining
        ? 'Server Draining'
        : undefined;
  return errorAnswer(msg, e.code, reason);
}

export function successAnswer(msg: StunMessage): StunMessageBuilder {
  return new StunMessageBuilder(msg.method, MessageClass.SUCCESS, msg.transactionId());
}

/**
 * A handler for requests on the client's own allocation: 437 when it has none, 441 when the
 * request carries another USERNAME than the Allocate did.
 */
export function onAllocation(handler: AllocationHandler): Handler {
  return (ctx, src, msg, creds, respond) => {
    const a = src.allocation();
    if (a === undefined || a.closed) {
      respond(errorAnswer(msg, ErrorCode.ALLOCATION_MISMATCH));
    } else if (a.username !== creds.username) {
      respond(errorAnswer(msg, ErrorCode.WRONG_CREDENTIALS));
    } else {
      handler(ctx, src, msg, a, respond);
    }
  };
}

/** Every XOR-PEER-ADDRESS before MESSAGE-INTEGRITY, decoded; undefined if any is malformed. */
export function peersOf(msg: StunMessage): TransportAddress[] | undefined {
  const out: TransportAddress[] = [];
  const attrs = msg.attributes;
  const last = msg.integrityIndex < 0 ? attrs.length : msg.integrityIndex;
  for (let i = 0; i < last; i++) {
    const at = attrs[i]!;
    if (at.type !== Attr.XOR_PEER_ADDRESS) continue;
    const addr = decodeXorAddress(msg, at);
    if (addr === undefined) return undefined;
    out.push(addr);
  }
  return out;
}

/** Logs a refused peer. */
export function logDenied(
  ctx: HandlerContext,
  src: RequestSource,
  a: Allocation,
  peer: TransportAddress,
  why: TurnError,
): void {
  ctx.log.info(
    `permission denied on listener ${src.listener.name} for client ${src.link.transport}:${src.link.address}:${src.link.port} (user ${a.user}) to peer ${peer.address}:${peer.port}: ${why.reason}`,
  );
}

/** The permission-map key of a peer: uint32 for IPv4, the text for IPv6. */
export function keyOf(p: TransportAddress): number | string {
  return p.family === 4 ? ipv4ToInt(p.address) : p.address;
}

/** LIFETIME handling: Allocate gets at least the default, everything at most the maximum. */
export function requestedLifetime(msg: StunMessage, allocate: boolean): number {
  const at = msg.get(Attr.LIFETIME);
  const v = at === undefined ? undefined : readUint32(msg, at);
  if (v === undefined) return DEFAULT_ALLOCATION_LIFETIME_S;
  if (!allocate && v === 0) return 0;
  const floor = allocate ? DEFAULT_ALLOCATION_LIFETIME_S : 1;
  return Math.min(Math.max(v, floor), MAX_ALLOCATION_LIFETIME_S);
}

/**
 * The TURN control path (RFC 8656): Binding, Allocate, Refresh, CreatePermission, ChannelBind,
 * with the long-term credential mechanism (401 + REALM + NONCE, 438 stale nonce, 441 wrong
 * credentials) and a retransmission cache: one handler per method. State lives in the allocation
 * table; this class owns none. The hot path (ChannelData, Send indications) lives in the
 * listeners (transport/) and in Allocation. Failures are TurnErrors, answered by `respondError`.
 */

import type { ListenerProtocol } from '../../contract/config/index.js';
import type { ScopedLogger } from '../log/logger.js';
import {
  Attr,
  CHANNEL_MAX,
  CHANNEL_MIN,
  decodeAddressFamily,
  decodeChannelNumber,
  decodeEvenPort,
  decodeRequestedTransport,
  decodeString,
  decodeXorAddress,
  ErrorCode,
  hasIntegrity,
  isParseError,
  MessageClass,
  Method,
  parseStunMessage,
  readUint32,
  type StunMessage,
  StunMessageBuilder,
  Transport,
  type TransportAddress,
  verifyFingerprint,
  verifyIntegrity,
} from '../stun/index.js';
import { ipv4ToInt } from '../stun/ip.js';
import { type Allocation, portAllowed } from './allocation.js';
import {
  type AllocationTable,
  DEFAULT_ALLOCATION_LIFETIME_S,
  MAX_ALLOCATION_LIFETIME_S,
} from './allocation-table.js';
import { TurnError } from './errors.js';
import type { ClientLink, CredentialStore, ListenerContext, Nonces } from './hooks.js';

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

interface Credentials {
  readonly key: Buffer;
  readonly user: string;
  readonly username: string;
}

type Respond = (b: StunMessageBuilder) => void;

export interface TurnServerOptions {
  readonly table: AllocationTable;
  readonly logger: ScopedLogger;
  readonly nonces: Nonces;
  readonly credentials: CredentialStore;
}

export class TurnServer {
  private credentials: CredentialStore;
  private readonly table: AllocationTable;
  private readonly log: ScopedLogger;
  private readonly nonces: Nonces;
  /** Counters of dropped/failed input, for tests and debugging. */
  readonly dropped = { malformed: 0, badFingerprint: 0, notRequest: 0 };

  constructor(opts: TurnServerOptions) {
    this.table = opts.table;
    this.log = opts.logger;
    this.nonces = opts.nonces;
    this.credentials = opts.credentials;
  }

  /** New credentials (auth config changed); returns whether the realm changed. */
  reconfigure(credentials: CredentialStore): boolean {
    const realmChanged = credentials.realm !== this.credentials.realm;
    this.credentials = credentials;
    return realmChanged;
  }

  /** Handles one STUN message (not a Send indication on the fast path). Never throws. */
  handle(src: RequestSource, buf: Buffer, start: number, end: number): void {
    try {
      this.dispatch(src, buf, start, end);
    } catch (e) {
      this.log.error(`request from ${src.textKey} failed: ${(e as Error).message}`);
    }
  }

  private dispatch(src: RequestSource, buf: Buffer, start: number, end: number): void {
    const parsed = parseStunMessage(buf, start, end);
    if (isParseError(parsed)) {
      this.dropped.malformed++;
      if (this.log.level >= 5) this.log.trace(`dropping malformed STUN from ${src.textKey}: ${parsed.error}`);
      return;
    }
    const msg = parsed;
    const fp = verifyFingerprint(msg);
    if (fp === 'bad') {
      this.dropped.badFingerprint++;
      return;
    }
    const fingerprint = fp === 'ok';
    if (msg.cls === MessageClass.INDICATION) {
      if (msg.method === Method.SEND) this.sendIndication(src, msg);
      return;
    }
    if (msg.cls !== MessageClass.REQUEST) {
      this.dropped.notRequest++;
      return;
    }
    if (msg.method === Method.BINDING) {
      this.binding(src, msg, fingerprint);
      return;
    }
    if (
      msg.method !== Method.ALLOCATE &&
      msg.method !== Method.REFRESH &&
      msg.method !== Method.CREATE_PERMISSION &&
      msg.method !== Method.CHANNEL_BIND
    ) {
      // Unauthenticated: no reason text, the code says it all.
      this.reply(src, this.error(msg, ErrorCode.BAD_REQUEST, '').build({ fingerprint }));
      return;
    }
    const cacheKey = `${src.listener.name}|${src.textKey}|${msg.transactionKey()}`;
    const cached = this.table.cachedAnswer(cacheKey);
    if (cached !== undefined) {
      src.link.sendStun(cached);
      return;
    }
    const creds = this.authenticate(src, msg, fingerprint);
    if (creds === undefined) return;
    const respond: Respond = (b) => {
      const out = b.build({ integrityKey: creds.key, fingerprint });
      this.table.cacheAnswer(cacheKey, out);
      this.reply(src, out);
    };
    const unknown = msg.unknownRequired();
    if (unknown.length > 0) {
      respond(this.error(msg, ErrorCode.UNKNOWN_ATTRIBUTE).addUnknownAttributes(unknown));
      return;
    }
    switch (msg.method) {
      case Method.ALLOCATE:
        this.allocate(src, msg, creds, respond);
        return;
      case Method.REFRESH:
        this.refresh(src, msg, creds, respond);
        return;
      case Method.CREATE_PERMISSION:
        this.createPermission(src, msg, creds, respond);
        return;
      default:
        this.channelBind(src, msg, creds, respond);
    }
  }

  private reply(src: RequestSource, out: Buffer): void {
    src.link.sendStun(out);
  }

  private error(msg: StunMessage, code: number, reason?: string): StunMessageBuilder {
    return new StunMessageBuilder(msg.method, MessageClass.ERROR, msg.transactionId()).addErrorCode(
      code,
      reason,
    );
  }

  /** The answer to a TurnError: a 400 carries its reason, 508 while draining says so, others the standard phrase. */
  private errorFor(msg: StunMessage, e: TurnError): StunMessageBuilder {
    const reason =
      e.code === ErrorCode.BAD_REQUEST
        ? e.reason
        : e.code === ErrorCode.INSUFFICIENT_CAPACITY && this.table.draining
          ? 'Server Draining'
          : undefined;
    return this.error(msg, e.code, reason);
  }

  private success(msg: StunMessage): StunMessageBuilder {
    return new StunMessageBuilder(msg.method, MessageClass.SUCCESS, msg.transactionId());
  }

  private binding(src: RequestSource, msg: StunMessage, fingerprint: boolean): void {
    const unknown = msg.unknownRequired();
    if (unknown.length > 0) {
      this.reply(
        src,
        this.error(msg, ErrorCode.UNKNOWN_ATTRIBUTE).addUnknownAttributes(unknown).build({ fingerprint }),
      );
      return;
    }
    const out = this.success(msg)
      .addXorAddress(Attr.XOR_MAPPED_ADDRESS, {
        family: src.link.family,
        address: src.link.address,
        port: src.link.port,
      })
      .build({ fingerprint });
    this.reply(src, out);
  }

  /** Long-term credentials (RFC 8489 sec 9.2). Answers and returns undefined on failure. */
  private authenticate(src: RequestSource, msg: StunMessage, fingerprint: boolean): Credentials | undefined {
    const auth = this.credentials;
    const challenge = (code: number): void => {
      // Minimal answer to an unauthenticated request: code, realm, nonce; no reason text.
      const out = this.error(msg, code, '')
        .addString(Attr.REALM, auth.realm)
        .addString(Attr.NONCE, this.nonces.issue(src.textKey))
        .build({ fingerprint });
      this.reply(src, out);
    };
    if (!hasIntegrity(msg)) {
      challenge(ErrorCode.UNAUTHENTICATED);
      return undefined;
    }
    const u = msg.get(Attr.USERNAME);
    const r = msg.get(Attr.REALM);
    const n = msg.get(Attr.NONCE);
    const username = u === undefined ? undefined : decodeString(msg, u);
    const nonce = n === undefined ? undefined : decodeString(msg, n);
    if (username === undefined || r === undefined || nonce === undefined) {
      this.reply(src, this.error(msg, ErrorCode.BAD_REQUEST, '').build({ fingerprint }));
      return undefined;
    }
    const nonceState = this.nonces.check(nonce, src.textKey);
    if (nonceState !== 'ok') {
      challenge(ErrorCode.STALE_NONCE);
      return undefined;
    }
    const found = auth.lookup(username);
    if (!found.ok || !verifyIntegrity(msg, found.key)) {
      if (this.log.level >= 4) {
        this.log.debug(
          `authentication failed for ${src.textKey} on listener ${src.listener.name}: ${found.ok ? 'wrong password' : found.reason}`,
        );
      }
      challenge(ErrorCode.UNAUTHENTICATED);
      return undefined;
    }
    return { key: found.key, user: found.user, username };
  }

  private allocate(src: RequestSource, msg: StunMessage, creds: Credentials, respond: Respond): void {
    const listener = src.listener;
    if (src.allocation() !== undefined) {
      respond(this.error(msg, ErrorCode.ALLOCATION_MISMATCH));
      return;
    }
    if (this.table.isPending(listener, src.clientKey)) return; // a retransmission: the answer is on its way
    const rt = msg.get(Attr.REQUESTED_TRANSPORT);
    const transport = rt === undefined ? undefined : decodeRequestedTransport(msg, rt);
    if (transport === undefined) {
      respond(this.error(msg, ErrorCode.BAD_REQUEST, 'REQUESTED-TRANSPORT missing or malformed'));
      return;
    }
    if (transport !== Transport.UDP) {
      respond(this.error(msg, ErrorCode.UNSUPPORTED_TRANSPORT));
      return;
    }
    const tokenAttr = msg.get(Attr.RESERVATION_TOKEN);
    const famAttr = msg.get(Attr.REQUESTED_ADDRESS_FAMILY);
    const evenAttr = msg.get(Attr.EVEN_PORT);
    if (tokenAttr !== undefined && (famAttr !== undefined || evenAttr !== undefined)) {
      respond(
        this.error(msg, ErrorCode.BAD_REQUEST, 'RESERVATION-TOKEN excludes EVEN-PORT and ADDRESS-FAMILY'),
      );
      return;
    }
    let token: Buffer | undefined;
    if (tokenAttr !== undefined) {
      if (tokenAttr.length !== 8) {
        respond(this.error(msg, ErrorCode.BAD_REQUEST, 'RESERVATION-TOKEN must be 8 bytes'));
        return;
      }
      token = msg.buf.subarray(tokenAttr.offset, tokenAttr.offset + 8);
    }
    // A reserved port carries its family; otherwise IPv4 unless the client asks (RFC 8656 sec 7.2).
    let family: 4 | 6 = (token !== undefined ? this.table.reservationFamily(token) : undefined) ?? 4;
    if (famAttr !== undefined) {
      const f = decodeAddressFamily(msg, famAttr);
      if (f === undefined) {
        respond(this.error(msg, ErrorCode.ADDRESS_FAMILY_NOT_SUPPORTED));
        return;
      }
      family = f;
    }
    const bindAddress = listener.relayBindAddress(family);
    if (bindAddress === undefined) {
      respond(this.error(msg, ErrorCode.ADDRESS_FAMILY_NOT_SUPPORTED));
      return;
    }
    let even = false;
    let reserveNext = false;
    if (evenAttr !== undefined) {
      const r = decodeEvenPort(msg, evenAttr);
      if (r === undefined) {
        respond(this.error(msg, ErrorCode.BAD_REQUEST, 'malformed EVEN-PORT'));
        return;
      }
      even = true;
      reserveNext = r;
    }
    const lifetimeS = requestedLifetime(msg, true);
    const refused = this.table.admit(creds.user);
    if (refused !== undefined) {
      respond(this.errorFor(msg, refused));
      return;
    }
    this.table
      .create(
        {
          listener,
          link: src.link,
          clientKey: src.clientKey,
          user: creds.user,
          username: creds.username,
          relayAddress: listener.relayAddress(family),
          lifetimeS,
          family,
          bindAddress,
          minPort: listener.minRelayPort,
          maxPort: listener.maxRelayPort,
          even,
          reserveNext,
          token,
        },
        src.clientKey,
      )
      .then(
        (a) => {
          if (!listener.isOpen() || src.isOpen?.() === false) {
            // The listener or connection closed (restart, stop) while the relay socket was being bound.
            this.table.remove(a, listener.isOpen() ? 'connection closed' : 'listener closed');
            return;
          }
          const b = this.success(msg)
            .addXorAddress(Attr.XOR_RELAYED_ADDRESS, { family, address: a.relayAddress, port: a.relayPort })
            .addUint32(Attr.LIFETIME, lifetimeS)
            .addXorAddress(Attr.XOR_MAPPED_ADDRESS, {
              family: src.link.family,
              address: src.link.address,
              port: src.link.port,
            });
          if (a.reservationToken !== undefined) b.addBuffer(Attr.RESERVATION_TOKEN, a.reservationToken);
          respond(b);
        },
        (e: unknown) => {
          if (e instanceof TurnError) {
            this.log.info(
              `allocation refused for user ${creds.user} on listener ${listener.name}: ${e.reason} (${e.code})`,
            );
            respond(this.errorFor(msg, e));
          } else {
            this.log.error(`allocation failed on listener ${listener.name}: ${(e as Error).message}`);
            respond(this.error(msg, ErrorCode.SERVER_ERROR));
          }
        },
      )
      .catch((e: unknown) => this.log.error(`allocation answer failed: ${(e as Error).message}`));
  }

  /** The allocation this request may act on, or an answer explaining why not. */
  private ownAllocation(
    src: RequestSource,
    msg: StunMessage,
    creds: Credentials,
    respond: Respond,
  ): Allocation | undefined {
    const a = src.allocation();
    if (a === undefined || a.closed) {
      respond(this.error(msg, ErrorCode.ALLOCATION_MISMATCH));
      return undefined;
    }
    if (a.username !== creds.username) {
      respond(this.error(msg, ErrorCode.WRONG_CREDENTIALS));
      return undefined;
    }
    return a;
  }

  private refresh(src: RequestSource, msg: StunMessage, creds: Credentials, respond: Respond): void {
    const a = this.ownAllocation(src, msg, creds, respond);
    if (a === undefined) return;
    const famAttr = msg.get(Attr.REQUESTED_ADDRESS_FAMILY);
    if (famAttr !== undefined && decodeAddressFamily(msg, famAttr) !== a.family) {
      respond(this.error(msg, ErrorCode.PEER_ADDRESS_FAMILY_MISMATCH));
      return;
    }
    const lifetimeS = requestedLifetime(msg, false);
    if (lifetimeS === 0) {
      this.table.remove(a, 'refreshed with lifetime 0');
    } else {
      this.table.refresh(a, lifetimeS);
    }
    respond(this.success(msg).addUint32(Attr.LIFETIME, lifetimeS));
  }

  /** Every XOR-PEER-ADDRESS before MESSAGE-INTEGRITY, decoded; undefined if any is malformed. */
  private peers(msg: StunMessage): TransportAddress[] | undefined {
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

  private denied(src: RequestSource, a: Allocation, peer: TransportAddress, why: TurnError): void {
    this.log.info(
      `permission denied on listener ${src.listener.name} for client ${src.link.transport}:${src.link.address}:${src.link.port} (user ${a.user}) to peer ${peer.address}:${peer.port}: ${why.reason}`,
    );
  }

  private createPermission(src: RequestSource, msg: StunMessage, creds: Credentials, respond: Respond): void {
    const a = this.ownAllocation(src, msg, creds, respond);
    if (a === undefined) return;
    const peers = this.peers(msg);
    if (peers === undefined || peers.length === 0) {
      respond(this.error(msg, ErrorCode.BAD_REQUEST, 'XOR-PEER-ADDRESS missing or malformed'));
      return;
    }
    for (const p of peers) {
      if (p.family !== a.family) {
        respond(this.error(msg, ErrorCode.PEER_ADDRESS_FAMILY_MISMATCH));
        return;
      }
    }
    // All or nothing (RFC 8656 sec 10.2): check every peer before installing any.
    for (const p of peers) {
      const r = this.table.check(a, p.address);
      if (r instanceof TurnError) {
        this.denied(src, a, p, r);
        respond(this.errorFor(msg, r));
        return;
      }
    }
    for (const p of peers) {
      const r = this.table.permit(a, keyOf(p), p.address, p.family);
      if (r instanceof TurnError) {
        this.denied(src, a, p, r);
        respond(this.errorFor(msg, r));
        return;
      }
    }
    respond(this.success(msg));
  }

  private channelBind(src: RequestSource, msg: StunMessage, creds: Credentials, respond: Respond): void {
    const a = this.ownAllocation(src, msg, creds, respond);
    if (a === undefined) return;
    const cn = msg.get(Attr.CHANNEL_NUMBER);
    const number = cn === undefined ? undefined : decodeChannelNumber(msg, cn);
    if (number === undefined || number < CHANNEL_MIN || number > CHANNEL_MAX) {
      respond(this.error(msg, ErrorCode.BAD_REQUEST, 'CHANNEL-NUMBER missing or out of range'));
      return;
    }
    const pa = msg.get(Attr.XOR_PEER_ADDRESS);
    const peer = pa === undefined ? undefined : decodeXorAddress(msg, pa);
    if (peer === undefined) {
      respond(this.error(msg, ErrorCode.BAD_REQUEST, 'XOR-PEER-ADDRESS missing or malformed'));
      return;
    }
    if (peer.family !== a.family) {
      respond(this.error(msg, ErrorCode.PEER_ADDRESS_FAMILY_MISMATCH));
      return;
    }
    if (peer.port === 0) {
      respond(this.error(msg, ErrorCode.BAD_REQUEST, 'peer port 0'));
      return;
    }
    const r = this.table.check(a, peer.address);
    if (r instanceof TurnError) {
      this.denied(src, a, peer, r);
      respond(this.errorFor(msg, r));
      return;
    }
    if (!portAllowed(r.ranges, r.blockedPorts, peer.port)) {
      const denied = new TurnError(ErrorCode.FORBIDDEN, 'no route to endpoint port');
      this.denied(src, a, peer, denied);
      respond(this.errorFor(msg, denied));
      return;
    }
    const ipKey = keyOf(peer);
    const ch = this.table.bindChannel(a, number, ipKey, peer.address, peer.port);
    if (ch instanceof TurnError) {
      respond(this.errorFor(msg, ch));
      return;
    }
    const p = this.table.permit(a, ipKey, peer.address, peer.family);
    if (p instanceof TurnError) {
      respond(this.errorFor(msg, p));
      return;
    }
    respond(this.success(msg));
  }

  /** A Send indication that did not take the fast path (e.g. IPv6 or unusual attributes). */
  private sendIndication(src: RequestSource, msg: StunMessage): void {
    const a = src.allocation();
    if (a === undefined || msg.unknownRequired().length > 0) return;
    const pa = msg.get(Attr.XOR_PEER_ADDRESS);
    const data = msg.get(Attr.DATA);
    if (pa === undefined || data === undefined) return;
    const peer = decodeXorAddress(msg, pa);
    if (peer === undefined || peer.family !== a.family) return;
    const perm = a.permissions.get(keyOf(peer));
    if (perm === undefined) return;
    a.sendTo(perm, peer.port, msg.buf, data.offset, data.length);
  }
}

function keyOf(p: TransportAddress): number | string {
  return p.family === 4 ? ipv4ToInt(p.address) : p.address;
}

/** LIFETIME handling: Allocate gets at least the default, everything at most the maximum. */
function requestedLifetime(msg: StunMessage, allocate: boolean): number {
  const at = msg.get(Attr.LIFETIME);
  const v = at === undefined ? undefined : readUint32(msg, at);
  if (v === undefined) return DEFAULT_ALLOCATION_LIFETIME_S;
  if (!allocate && v === 0) return 0;
  const floor = allocate ? DEFAULT_ALLOCATION_LIFETIME_S : 1;
  return Math.min(Math.max(v, floor), MAX_ALLOCATION_LIFETIME_S);
}

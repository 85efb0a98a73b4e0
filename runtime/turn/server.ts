/**
 * The TURN control path (RFC 8656): Binding, Allocate, Refresh, CreatePermission, ChannelBind,
 * with the long-term credential mechanism (401 + REALM + NONCE, 438 stale nonce, 441 wrong
 * credentials) and a retransmission cache. This class parses, authenticates and dispatches; each
 * method has its handler in handlers/. State lives in the allocation table; the server owns none.
 * The hot path (ChannelData, Send indications) lives in the listeners (transport/) and in
 * Allocation. Failures are TurnErrors, answered by `errorFor`.
 */

import type { ScopedLogger } from '../log/logger.js';
import {
  ErrorCode,
  isParseError,
  MessageClass,
  Method,
  parseStunMessage,
  verifyFingerprint,
} from '../stun/index.js';
import type { AllocationTable } from './allocation-table.js';
import { handleAllocate } from './handlers/allocate.js';
import { authenticate } from './handlers/authenticate.js';
import { handleBinding } from './handlers/binding.js';
import { handleChannelBind } from './handlers/channel-bind.js';
import {
  errorAnswer,
  type HandlerContext,
  type RequestSource,
  type Respond,
  reply,
} from './handlers/context.js';
import { handleCreatePermission } from './handlers/create-permission.js';
import { handleRefresh } from './handlers/refresh.js';
import { handleSendIndication } from './handlers/send.js';
import type { AuthFailureLimit, CredentialStore, Nonces } from './hooks.js';

export type { RequestSource, TurnListener } from './handlers/context.js';

export interface TurnServerOptions {
  readonly table: AllocationTable;
  readonly logger: ScopedLogger;
  readonly nonces: Nonces;
  readonly credentials: CredentialStore;
  /** The per-IP failed-authentication limit (admin.auth_failures_per_ip); none when off. */
  readonly authLimit?: AuthFailureLimit | undefined;
}

export class TurnServer implements HandlerContext {
  private store: CredentialStore;
  readonly table: AllocationTable;
  readonly log: ScopedLogger;
  readonly nonces: Nonces;
  authLimit: AuthFailureLimit | undefined;
  /** Counters of dropped/failed input, for tests and debugging. */
  readonly dropped = { malformed: 0, badFingerprint: 0, notRequest: 0 };

  constructor(opts: TurnServerOptions) {
    this.table = opts.table;
    this.log = opts.logger;
    this.nonces = opts.nonces;
    this.store = opts.credentials;
    this.authLimit = opts.authLimit;
  }

  /** The credential store in use (replaced by reconfigure()). */
  get credentials(): CredentialStore {
    return this.store;
  }

  /** New credentials (auth config changed); returns whether the realm changed. */
  reconfigure(credentials: CredentialStore): boolean {
    const realmChanged = credentials.realm !== this.store.realm;
    this.store = credentials;
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
      if (msg.method === Method.SEND) handleSendIndication(src, msg);
      return;
    }
    if (msg.cls !== MessageClass.REQUEST) {
      this.dropped.notRequest++;
      return;
    }
    if (msg.method === Method.BINDING) {
      handleBinding(src, msg, fingerprint);
      return;
    }
    if (
      msg.method !== Method.ALLOCATE &&
      msg.method !== Method.REFRESH &&
      msg.method !== Method.CREATE_PERMISSION &&
      msg.method !== Method.CHANNEL_BIND
    ) {
      // Unauthenticated: no reason text, the code says it all.
      reply(src, errorAnswer(msg, ErrorCode.BAD_REQUEST, '').build({ fingerprint }));
      return;
    }
    const cacheKey = `${src.listener.name}|${src.textKey}|${msg.transactionKey()}`;
    const cached = this.table.cachedAnswer(cacheKey);
    if (cached !== undefined) {
      src.link.sendStun(cached);
      return;
    }
    const creds = authenticate(this, src, msg, fingerprint);
    if (creds === undefined) return;
    const respond: Respond = (b) => {
      const out = b.build({ integrityKey: creds.key, fingerprint });
      this.table.cacheAnswer(cacheKey, out);
      reply(src, out);
    };
    const unknown = msg.unknownRequired();
    if (unknown.length > 0) {
      respond(errorAnswer(msg, ErrorCode.UNKNOWN_ATTRIBUTE).addUnknownAttributes(unknown));
      return;
    }
    switch (msg.method) {
      case Method.ALLOCATE:
        handleAllocate(this, src, msg, creds, respond);
        return;
      case Method.REFRESH:
        handleRefresh(this, src, msg, creds, respond);
        return;
      case Method.CREATE_PERMISSION:
        handleCreatePermission(this, src, msg, creds, respond);
        return;
      default:
        handleChannelBind(this, src, msg, creds, respond);
    }
  }
}

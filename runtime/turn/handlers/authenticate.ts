/**
 * The long-term credential mechanism (RFC 8489 sec 9.2) in front of every TURN request: 401 with
 * REALM and NONCE, 438 for a stale nonce, 401 with a fresh nonce for another realm and for wrong
 * credentials. Failures are counted per listener and reason; with admin.auth_failures_per_ip an IP
 * over its limit gets no answer at all until its window ends.
 */
import {
  Attr,
  decodeString,
  ErrorCode,
  hasIntegrity,
  type StunMessage,
  verifyIntegrity,
} from '../../stun/index.js';
import type { ListenerStats } from '../stats.js';
import { type Credentials, errorAnswer, type HandlerContext, type RequestSource, reply } from './context.js';

/** The request's credentials; answers and returns undefined on failure. */
export function authenticate(
  ctx: HandlerContext,
  src: RequestSource,
  msg: StunMessage,
  fingerprint: boolean,
): Credentials | undefined {
  const auth = ctx.credentials;
  const limit = ctx.authLimit;
  const stats = src.listener.stats;
  if (limit?.blocked(src.link.address)) {
    stats.authFailedRateLimited++;
    return undefined;
  }
  const challenge = (code: number): void => {
    // Minimal answer to an unauthenticated request: code, realm, nonce; no reason text.
    const out = errorAnswer(msg, code, '')
      .addString(Attr.REALM, auth.realm)
      .addString(Attr.NONCE, ctx.nonces.issue(src.textKey))
      .build({ fingerprint });
    reply(src, out);
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
    reply(src, errorAnswer(msg, ErrorCode.BAD_REQUEST, '').build({ fingerprint }));
    return undefined;
  }
  const nonceState = ctx.nonces.check(nonce, src.textKey);
  if (nonceState !== 'ok') {
    challenge(ErrorCode.STALE_NONCE);
    return undefined;
  }
  // Another realm than ours (a stale one after a realm change, or a probe): challenge again.
  if (decodeString(msg, r) !== auth.realm) {
    fail(ctx, src, stats, 'realm');
    challenge(ErrorCode.UNAUTHENTICATED);
    return undefined;
  }
  const found = auth.lookup(username);
  if (!found.ok || !verifyIntegrity(msg, found.key)) {
    fail(ctx, src, stats, found.ok ? 'bad-integrity' : found.reason);
    if (ctx.log.level >= 4) {
      ctx.log.debug(
        `authentication failed for ${src.textKey} on listener ${src.listener.name}: ${found.ok ? 'wrong password' : found.reason}`,
      );
    }
    challenge(ErrorCode.UNAUTHENTICATED);
    return undefined;
  }
  return { key: found.key, user: found.user, username };
}

/** Counts a failed authentication for its listener and reason, and against the client's IP. */
function fail(ctx: HandlerContext, src: RequestSource, stats: ListenerStats, reason: string): void {
  switch (reason) {
    case 'unknown-user':
      stats.authFailedUnknownUser++;
      break;
    case 'expired':
      stats.authFailedExpired++;
      break;
    case 'realm':
      stats.authFailedRealm++;
      break;
    case 'bad-integrity':
      stats.authFailedBadIntegrity++;
      break;
    default:
      stats.authFailedMalformed++;
  }
  ctx.authLimit?.failed(src.link.address);
}

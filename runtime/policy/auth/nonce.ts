/**
 * Stateless NONCE values for the long-term credential mechanism (RFC 8489 sec 9.2).
 *
 * nonce = 12 hex digits of the issue time (ms) + base64url(HMAC-SHA256(secret, time "|" clientKey))
 * truncated to 16 bytes. Nothing is stored per client: any server holding the secret can check it,
 * a nonce issued to one client address is invalid for another, and an old one is 'stale' (438).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface NonceOptions {
  /** How long a nonce stays valid, in ms. @default 600_000 (10 minutes) */
  readonly lifetimeMs?: number;
  /** HMAC secret. @default 32 random bytes (nonces do not survive a restart) */
  readonly secret?: Buffer;
  /** Clock in unix ms. @default Date.now */
  readonly now?: () => number;
}

const TIME_DIGITS = 12;
const MAC_BYTES = 16;
const MAC_CHARS = 22; // base64url of 16 bytes, unpadded
export const NONCE_LENGTH = TIME_DIGITS + MAC_CHARS;
/** Tolerated clock skew for nonces from the future (several servers sharing a secret). */
const FUTURE_SKEW_MS = 5_000;

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

export class NonceIssuer {
  readonly lifetimeMs: number;
  private readonly secret: Buffer;
  private readonly now: () => number;

  constructor(opts: NonceOptions = {}) {
    this.lifetimeMs = opts.lifetimeMs ?? 600_000;
    this.secret = opts.secret ?? randomBytes(32);
    this.now = opts.now ?? Date.now;
  }

  private mac(time: string, clientKey: string): string {
    return createHmac('sha256', this.secret)
      .update(time)
      .update('|')
      .update(clientKey, 'utf8')
      .digest()
      .subarray(0, MAC_BYTES)
      .toString('base64url');
  }

  /** A nonce bound to the client (e.g. transport + remote address + port) and the current time. */
  issue(clientKey: string): string {
    const t = Math.max(0, Math.floor(this.now()));
    const time = t.toString(16).padStart(TIME_DIGITS, '0').slice(-TIME_DIGITS);
    return time + this.mac(time, clientKey);
  }

  /** 'ok', 'stale' (authentic but too old: answer 438 with a fresh nonce) or 'invalid'. */
  check(nonce: string, clientKey: string): 'ok' | 'stale' | 'invalid' {
    if (typeof nonce !== 'string' || nonce.length !== NONCE_LENGTH) return 'invalid';
    let t = 0;
    for (let i = 0; i < TIME_DIGITS; i++) {
      const d = hexDigit(nonce.charCodeAt(i));
      if (d < 0) return 'invalid';
      t = t * 16 + d;
    }
    const time = nonce.slice(0, TIME_DIGITS);
    const want = Buffer.from(this.mac(time, clientKey), 'latin1');
    const got = Buffer.from(nonce.slice(TIME_DIGITS), 'latin1');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return 'invalid';
    const age = this.now() - t;
    if (age < -FUTURE_SKEW_MS) return 'invalid';
    return age > this.lifetimeMs ? 'stale' : 'ok';
  }
}

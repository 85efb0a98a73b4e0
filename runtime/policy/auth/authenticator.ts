/**
 * Long-term credential lookup for the TURN server: username -> MESSAGE-INTEGRITY key.
 *
 * static: one Map from username to its precomputed MD5 key.
 * ephemeral (TURN REST API): the username carries a unix-time expiry in one of its ':'-separated
 * fields; the password is base64(HMAC-SHA1(secret, username)), so the key is derived on lookup.
 * Credentials are never looked up on plain objects: `constructor` or `__proto__` is just unknown.
 */
import { createHmac } from 'node:crypto';
import type { AuthConfig } from '../../../contract/config/index.js';
import { longTermKey } from '../../stun/integrity.js';

export type KeyLookup =
  | { readonly ok: true; readonly key: Buffer; readonly user: string }
  | { readonly ok: false; readonly reason: 'unknown-user' | 'expired' | 'malformed' };

export interface Authenticator {
  readonly type: 'static' | 'ephemeral';
  readonly realm: string;
  /** Key for MESSAGE-INTEGRITY; `user` is the quota identity. Map-based, key precomputed or derived. */
  lookup(username: string): KeyLookup;
}

/** Longest USERNAME value RFC 8489 allows (fewer than 513 bytes). */
export const MAX_USERNAME_BYTES = 512;
/** Expiry fields longer than this are not timestamps (keeps Number exact). */
const MAX_EXPIRY_DIGITS = 15;

const UNKNOWN: KeyLookup = Object.freeze({ ok: false, reason: 'unknown-user' } as const);
const EXPIRED: KeyLookup = Object.freeze({ ok: false, reason: 'expired' } as const);
const MALFORMED: KeyLookup = Object.freeze({ ok: false, reason: 'malformed' } as const);

/** TURN REST API password for a username. */
export function ephemeralPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

/** TURN REST API username `${now + ttl}:${userid}` (now in unix seconds, default the clock). */
export function ephemeralUsername(userid: string, ttlSeconds: number, now?: number): string {
  const t = now ?? Math.floor(Date.now() / 1000);
  return `${Math.floor(t + ttlSeconds)}:${userid}`;
}

export interface EphemeralUsername {
  /** Unix seconds. */
  readonly expiry: number;
  /** The username without the expiry field (the quota identity); the whole username if that is empty. */
  readonly userid: string;
}

function isDigits(s: string, from: number, to: number): boolean {
  if (to <= from || to - from > MAX_EXPIRY_DIGITS) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Finds the first all-digit ':'-separated field as the expiry; undefined when none. */
export function parseEphemeralUsername(username: string): EphemeralUsername | undefined {
  let from = 0;
  while (from <= username.length) {
    let to = username.indexOf(':', from);
    if (to < 0) to = username.length;
    if (isDigits(username, from, to)) {
      const expiry = Number(username.slice(from, to));
      let userid: string;
      if (from === 0 && to === username.length) userid = '';
      else if (from === 0) userid = username.slice(to + 1);
      else if (to === username.length) userid = username.slice(0, from - 1);
      else userid = username.slice(0, from - 1) + username.slice(to);
      // Without a user id (`<expiry>` or `<expiry>:`) the whole username is the identity.
      return { expiry, userid: userid === '' ? username : userid };
    }
    from = to + 1;
  }
  return undefined;
}

function tooLong(username: string): boolean {
  return username.length === 0 || Buffer.byteLength(username, 'utf8') > MAX_USERNAME_BYTES;
}

class StaticAuthenticator implements Authenticator {
  readonly type = 'static' as const;
  readonly realm: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(realm: string, users: ReadonlyMap<string, string>) {
    this.realm = realm;
    for (const [u, p] of users) this.keys.set(u, longTermKey(u, realm, p));
  }

  lookup(username: string): KeyLookup {
    if (tooLong(username)) return MALFORMED;
    const key = this.keys.get(username);
    return key === undefined ? UNKNOWN : { ok: true, key, user: username };
  }
}

class EphemeralAuthenticator implements Authenticator {
  readonly type = 'ephemeral' as const;
  readonly realm: string;
  private readonly secret: string;
  private readonly now: () => number;

  constructor(realm: string, secret: string, now: () => number) {
    this.realm = realm;
    this.secret = secret;
    this.now = now;
  }

  lookup(username: string): KeyLookup {
    if (tooLong(username)) return MALFORMED;
    const parsed = parseEphemeralUsername(username);
    if (parsed === undefined) return MALFORMED;
    if (parsed.expiry * 1000 < this.now()) return EXPIRED;
    const password = ephemeralPassword(this.secret, username);
    return { ok: true, key: longTermKey(username, this.realm, password), user: parsed.userid };
  }
}

/**
 * Builds the authenticator for a validated auth config.
 * @param now clock in unix milliseconds (default Date.now), for ephemeral expiry.
 * Throws when the credentials the auth type needs are missing (the config validator reports
 * that earlier with a better message).
 */
export function createAuthenticator(auth: AuthConfig, now: () => number = Date.now): Authenticator {
  const creds = auth.credentials;
  if (auth.type === 'ephemeral') {
    if (creds.secret === undefined || creds.secret === '') {
      throw new Error('auth.credentials.secret is required for ephemeral auth');
    }
    return new EphemeralAuthenticator(auth.realm, creds.secret, now);
  }
  if (creds.username === undefined || creds.password === undefined) {
    throw new Error('auth.credentials.username and auth.credentials.password are required for static auth');
  }
  return new StaticAuthenticator(auth.realm, new Map([[creds.username, creds.password]]));
}

/** A static authenticator over several users (for tests and embedders). */
export function createStaticAuthenticator(realm: string, users: ReadonlyMap<string, string>): Authenticator {
  return new StaticAuthenticator(realm, users);
}

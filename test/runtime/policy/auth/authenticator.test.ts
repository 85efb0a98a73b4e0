/** Static and ephemeral (TURN REST API) credentials, end to end with MESSAGE-INTEGRITY. */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../../../contract/config/index.js';
import {
  createAuthenticator,
  createStaticAuthenticator,
  ephemeralPassword,
  ephemeralUsername,
  parseEphemeralUsername,
} from '../../../../runtime/policy/auth/index.js';
import {
  Attr,
  decodeString,
  isParseError,
  MessageClass,
  Method,
  newTransactionId,
  parseStunMessage,
  StunMessageBuilder,
  verifyIntegrity,
} from '../../../../runtime/stun/index.js';

const REALM = 'stunner.l7mp.io';
const md5 = (s: string) => createHash('md5').update(s).digest();

function staticAuth(username: string, password: string): AuthConfig {
  return { type: 'static', realm: REALM, credentials: { username, password } };
}
function ephemeralAuth(secret: string): AuthConfig {
  return { type: 'ephemeral', realm: REALM, credentials: { secret } };
}

/** A request as a client would sign it, then verified the way the server does. */
function clientRequest(username: string, password: string, realm = REALM): Buffer {
  return new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, newTransactionId())
    .addString(Attr.USERNAME, username)
    .addString(Attr.REALM, realm)
    .addString(Attr.NONCE, 'n')
    .addRequestedTransport(17)
    .build({ integrityKey: md5(`${username}:${realm}:${password}`), fingerprint: true });
}

function serverAccepts(auth: ReturnType<typeof createAuthenticator>, req: Buffer): string {
  const m = parseStunMessage(req);
  if (isParseError(m)) return m.error;
  const username = decodeString(m, m.get(Attr.USERNAME)!)!;
  const r = auth.lookup(username);
  if (!r.ok) return r.reason;
  return verifyIntegrity(m, r.key) ? `ok:${r.user}` : 'bad-integrity';
}

describe('static authenticator', () => {
  const auth = createAuthenticator(staticAuth('user1', 'pass1'));

  it('derives the MD5 long-term key and accepts the right password', () => {
    expect(auth.type).toBe('static');
    expect(auth.realm).toBe(REALM);
    const r = auth.lookup('user1');
    expect(r).toEqual({ ok: true, key: md5(`user1:${REALM}:pass1`), user: 'user1' });
    expect(serverAccepts(auth, clientRequest('user1', 'pass1'))).toBe('ok:user1');
    expect(serverAccepts(auth, clientRequest('user1', 'pass2'))).toBe('bad-integrity');
    expect(serverAccepts(auth, clientRequest('user1', 'pass1', 'other.realm'))).toBe('bad-integrity');
    expect(serverAccepts(auth, clientRequest('user2', 'pass1'))).toBe('unknown-user');
  });

  it('prototype names are just unknown users', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype']) {
      expect(auth.lookup(name), name).toEqual({ ok: false, reason: 'unknown-user' });
      expect(serverAccepts(auth, clientRequest(name, ''))).toBe('unknown-user');
      expect(serverAccepts(auth, clientRequest(name, 'undefined'))).toBe('unknown-user');
    }
  });

  it('a configured user named constructor or __proto__ works like any other', () => {
    const a = createStaticAuthenticator(
      REALM,
      new Map([
        ['__proto__', 'p1'],
        ['constructor', 'p2'],
      ]),
    );
    expect(serverAccepts(a, clientRequest('__proto__', 'p1'))).toBe('ok:__proto__');
    expect(serverAccepts(a, clientRequest('constructor', 'p2'))).toBe('ok:constructor');
    expect(serverAccepts(a, clientRequest('constructor', 'p1'))).toBe('bad-integrity');
    expect(a.lookup('toString').ok).toBe(false);
  });

  it('empty and overlong usernames are malformed', () => {
    expect(auth.lookup('')).toEqual({ ok: false, reason: 'malformed' });
    expect(auth.lookup('x'.repeat(513))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('missing credentials fail at construction', () => {
    expect(() => createAuthenticator({ type: 'static', realm: REALM, credentials: {} })).toThrow(/username/);
    expect(() => createAuthenticator({ type: 'ephemeral', realm: REALM, credentials: {} })).toThrow(/secret/);
  });
});

describe('ephemeral authenticator (TURN REST API)', () => {
  const SECRET = 'my-shared-secret';
  const NOW_S = 1_800_000_000;
  const auth = createAuthenticator(ephemeralAuth(SECRET), () => NOW_S * 1000);

  it('password is base64(HMAC-SHA1(secret, username)), generation is expiry:userid', () => {
    const u = ephemeralUsername('alice', 3600, NOW_S);
    expect(u).toBe(`${NOW_S + 3600}:alice`);
    expect(ephemeralPassword(SECRET, u)).toBe(createHmac('sha1', SECRET).update(u).digest('base64'));
    const fromClock = ephemeralUsername('bob', 60);
    expect(Number(fromClock.split(':')[0])).toBeGreaterThan(Date.now() / 1000);
  });

  it('accepts a valid username with the expiry in any position or alone', () => {
    const exp = NOW_S + 100;
    for (const [u, user] of [
      [`${exp}:alice`, 'alice'],
      [`alice:${exp}`, 'alice'],
      [`tenant:${exp}:alice`, 'tenant:alice'],
      [`${exp}`, `${exp}`],
      [`${exp}:`, `${exp}:`],
      [`${exp}:a:b`, 'a:b'],
      [`x:y:${exp}`, 'x:y'],
    ] as const) {
      expect(serverAccepts(auth, clientRequest(u, ephemeralPassword(SECRET, u))), u).toBe(`ok:${user}`);
      expect(serverAccepts(auth, clientRequest(u, ephemeralPassword('other', u))), u).toBe('bad-integrity');
    }
  });

  it('expired usernames are rejected in any position; the exact second is still valid', () => {
    const past = NOW_S - 1;
    for (const u of [`${past}:alice`, `alice:${past}`, `a:${past}:b`, `${past}`]) {
      expect(auth.lookup(u), u).toEqual({ ok: false, reason: 'expired' });
      expect(serverAccepts(auth, clientRequest(u, ephemeralPassword(SECRET, u)))).toBe('expired');
    }
    expect(auth.lookup(`${NOW_S}:alice`).ok).toBe(true);
  });

  it('uses the first numeric field and rejects usernames without one', () => {
    expect(parseEphemeralUsername('12:34')).toEqual({ expiry: 12, userid: '34' });
    expect(parseEphemeralUsername('alice')).toBeUndefined();
    expect(parseEphemeralUsername('1e9:alice')).toBeUndefined();
    expect(parseEphemeralUsername('-5:alice')).toBeUndefined();
    expect(parseEphemeralUsername(':alice')).toBeUndefined();
    for (const u of ['alice', 'constructor', '__proto__', '', 'a:b:c', '1234567890123456:x']) {
      expect(auth.lookup(u), u).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('the key changes with the realm', () => {
    const u = `${NOW_S + 5}:carol`;
    const other = createAuthenticator({ ...ephemeralAuth(SECRET), realm: 'other' }, () => NOW_S * 1000);
    const a = auth.lookup(u);
    const b = other.lookup(u);
    expect(a.ok && b.ok && !a.key.equals(b.key)).toBe(true);
  });
});

/** Stateless nonces: ok, stale, invalid (tampered, other client, other secret, future, junk). */
import { describe, expect, it } from 'vitest';
import { NONCE_LENGTH, NonceIssuer } from '../../../../runtime/policy/auth/index.js';

describe('NonceIssuer', () => {
  let now = 1_700_000_000_000;
  const secret = Buffer.alloc(32, 1);
  const issuer = new NonceIssuer({ lifetimeMs: 60_000, secret, now: () => now });
  const client = 'udp:127.0.0.1:40000';

  it('issues a fixed-length token of safe characters', () => {
    const n = issuer.issue(client);
    expect(n.length).toBe(NONCE_LENGTH);
    expect(n).toMatch(/^[0-9a-f]{12}[A-Za-z0-9_-]{22}$/);
  });

  it('ok within the lifetime, stale after it', () => {
    const n = issuer.issue(client);
    expect(issuer.check(n, client)).toBe('ok');
    now += 60_000;
    expect(issuer.check(n, client)).toBe('ok');
    now += 1;
    expect(issuer.check(n, client)).toBe('stale');
    expect(issuer.check(issuer.issue(client), client)).toBe('ok');
  });

  it('is bound to the client key and the secret', () => {
    const n = issuer.issue(client);
    expect(issuer.check(n, 'udp:127.0.0.1:40001')).toBe('invalid');
    const other = new NonceIssuer({ secret: Buffer.alloc(32, 2), now: () => now });
    expect(other.check(n, client)).toBe('invalid');
    const same = new NonceIssuer({ secret, now: () => now });
    expect(same.check(n, client)).toBe('ok');
    expect(new NonceIssuer().check(new NonceIssuer().issue(client), client)).toBe('invalid');
  });

  it('rejects tampering with the time or the MAC, and junk', () => {
    const n = issuer.issue(client);
    const older = (Number.parseInt(n.slice(0, 12), 16) - 1).toString(16).padStart(12, '0') + n.slice(12);
    expect(issuer.check(older, client)).toBe('invalid');
    const flipped = n.slice(0, -1) + (n.endsWith('A') ? 'B' : 'A');
    expect(issuer.check(flipped, client)).toBe('invalid');
    for (const junk of ['', 'x', n + 'x', n.slice(1), 'G'.repeat(NONCE_LENGTH), n.toUpperCase()]) {
      expect(issuer.check(junk, client), junk).toBe('invalid');
    }
    expect(issuer.check('é'.repeat(NONCE_LENGTH), client)).toBe('invalid');
  });

  it('a nonce from the future (beyond skew) is invalid', () => {
    let t = now + 3_600_000;
    const future = new NonceIssuer({ secret, now: () => t }).issue(client);
    expect(issuer.check(future, client)).toBe('invalid');
    t = now + 1000;
    expect(issuer.check(new NonceIssuer({ secret, now: () => t }).issue(client), client)).toBe('ok');
  });
});

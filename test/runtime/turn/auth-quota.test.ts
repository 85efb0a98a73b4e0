/**
 * Issue 15's smaller findings, over a fake transport: the REALM of a request is compared with
 * ours, failed authentications are counted by reason, an optional per-IP failure limit drops an
 * IP's requests for at most its window, one client IP cannot take every allocation
 * (admin.client_quota, reservations included), and the per-username quota of ephemeral users
 * counts the user id, not the whole `<expiry>:<user-id>` username.
 */
import { describe, expect, it } from 'vitest';
import { AUTH_FAILURE_WINDOW_S } from '../../../contract/config/index.js';
import {
  AuthFailureLimiter,
  createAuthenticator,
  createStaticAuthenticator,
  ephemeralPassword,
} from '../../../runtime/policy/auth/index.js';
import { Quota } from '../../../runtime/policy/quota.js';
import {
  Attr,
  decodeErrorCode,
  decodeString,
  longTermKey,
  MessageClass,
  Method,
  newTransactionId,
  type StunMessage,
  StunMessageBuilder,
  Transport,
} from '../../../runtime/stun/index.js';
import type { CredentialStore } from '../../../runtime/turn/hooks.js';
import type { RequestSource } from '../../../runtime/turn/server.js';
import { fakeTransport } from '../../helpers/fake-transport.js';

const REALM = 'test.realm';

function setup(
  opts: { quota?: Quota; credentials?: CredentialStore; limit?: number; now?: () => number } = {},
) {
  const now = opts.now ?? Date.now;
  const t = fakeTransport({
    quota: opts.quota,
    credentials: opts.credentials ?? createStaticAuthenticator(REALM, new Map([['alice', 'secret']])),
    authLimit: opts.limit ? new AuthFailureLimiter(opts.limit, now) : undefined,
    now,
  });
  const { table, server, listener, client } = t;
  const nonces = new Map<RequestSource, string>();
  /** Sends an Allocate (authenticated unless `auth` is false) and returns the answer, or undefined for none. */
  const allocate = async (
    src: RequestSource,
    a: { user?: string; password?: string; realm?: string; auth?: boolean; evenR?: boolean } = {},
  ): Promise<StunMessage | undefined> => {
    const b = new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, newTransactionId());
    b.addRequestedTransport(Transport.UDP);
    if (a.evenR) b.addBuffer(Attr.EVEN_PORT, Buffer.from([0x80]));
    const user = a.user ?? 'alice';
    if (a.auth ?? true) {
      b.addString(Attr.USERNAME, user)
        .addString(Attr.REALM, a.realm ?? REALM)
        .addString(Attr.NONCE, nonces.get(src) ?? 'none');
    }
    const buf = b.build(
      (a.auth ?? true)
        ? { integrityKey: longTermKey(user, REALM, a.password ?? 'secret'), fingerprint: true }
        : { fingerprint: true },
    );
    const m = await t.deliver(src, buf);
    if (m === undefined) return undefined;
    const n = m.get(Attr.NONCE);
    if (n !== undefined) nonces.set(src, decodeString(m, n)!);
    return m;
  };
  return { table, server, listener, stats: t.stats, client, allocate };
}

const code = (m: StunMessage | undefined) => {
  if (m === undefined) return -1;
  const e = m.get(Attr.ERROR_CODE);
  return e === undefined ? 0 : decodeErrorCode(m, e)!.code;
};

describe('auth and quota hardening (issue 15)', () => {
  it('answers 401 with a fresh nonce to a request for another realm, even one signed with our key', async () => {
    const t = setup();
    const c = t.client();
    expect(code(await t.allocate(c, { auth: false }))).toBe(401);
    const r = await t.allocate(c, { realm: 'other.realm' });
    expect(code(r)).toBe(401);
    expect(decodeString(r!, r!.get(Attr.REALM)!)).toBe(REALM);
    expect(r!.get(Attr.NONCE)).toBeDefined();
    expect(t.stats.authFailedRealm).toBe(1);
    expect(t.table.count).toBe(0);
    expect(code(await t.allocate(c))).toBe(0);
  });

  it('counts failed authentications by reason', async () => {
    const t = setup();
    const c = t.client();
    await t.allocate(c, { auth: false });
    expect(code(await t.allocate(c, { password: 'wrong' }))).toBe(401);
    expect(code(await t.allocate(c, { user: 'mallory' }))).toBe(401);
    expect(t.stats.authFailedBadIntegrity).toBe(1);
    expect(t.stats.authFailedUnknownUser).toBe(1);
  });

  it(`drops an IP's requests past admin.auth_failures_per_ip, and lets a correct password in after ${AUTH_FAILURE_WINDOW_S} s`, async () => {
    let clock = 1_700_000_000_000;
    const t = setup({ limit: 3, now: () => clock });
    const c = t.client();
    await t.allocate(c, { auth: false });
    for (let i = 0; i < 3; i++) expect(code(await t.allocate(c, { password: 'wrong' }))).toBe(401);
    // Blocked: no answer at all, even to the right password, and nothing is counted against it.
    expect(await t.allocate(c)).toBeUndefined();
    expect(await t.allocate(t.client(), { auth: false })).toBeUndefined();
    expect(t.stats.authFailedRateLimited).toBe(2);
    clock += AUTH_FAILURE_WINDOW_S * 1000 - 1;
    expect(await t.allocate(c)).toBeUndefined();
    clock += 1;
    expect(code(await t.allocate(c))).toBe(0);
  });

  it('lets one client IP hold at most admin.client_quota allocations, reservations included', async () => {
    const t = setup({ quota: new Quota({ clientQuota: 4 }) });
    const first = t.client();
    await t.allocate(first, { auth: false });
    // EVEN-PORT with R: an allocation and a reservation, two of the four.
    expect(code(await t.allocate(first, { evenR: true }))).toBe(0);
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c = t.client();
      await t.allocate(c, { auth: false });
      codes.push(code(await t.allocate(c)));
    }
    expect(codes).toEqual([0, 0, 486, 486, 486]);
    expect(t.table.count + t.table.reservationCount).toBe(4);
  });

  it('has a per-client-IP quota by default', () => {
    expect(new Quota({}).admit('u', 0, 0, 10_000)?.code).toBe(486);
  });

  it('counts ephemeral users by user id, so new credentials of one user share its user_quota', async () => {
    const secret = 'shh';
    const t = setup({
      quota: new Quota({ userQuota: 2 }),
      credentials: createAuthenticator({ type: 'ephemeral', realm: REALM, credentials: { secret } }),
    });
    const now = Math.floor(Date.now() / 1000);
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const user = `${now + 3600 + i}:alice`;
      const c = t.client();
      await t.allocate(c, { auth: false });
      codes.push(code(await t.allocate(c, { user, password: ephemeralPassword(secret, user) })));
    }
    expect(codes).toEqual([0, 0, 486, 486]);
  });
});

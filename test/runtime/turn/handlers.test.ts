/**
 * The TURN request handlers with a fake transport: no socket anywhere. A recording client link
 * takes the answers, fake relay ports hand out relay sockets that record what they send, and the
 * allocation table, policy hooks and server are the real ones. Covers the auth challenge, Allocate
 * (and its retransmission), quotas, CreatePermission inside and outside the perimeter, ChannelBind
 * and the relay through a fake relay socket, and Refresh to 0.
 */
import { describe, expect, it } from 'vitest';
import { createStaticAuthenticator } from '../../../runtime/policy/auth/index.js';
import { Quota } from '../../../runtime/policy/quota.js';
import {
  Attr,
  decodeErrorCode,
  decodeString,
  decodeXorAddress,
  longTermKey,
  MessageClass,
  Method,
  newTransactionId,
  type StunMessage,
  StunMessageBuilder,
  Transport,
} from '../../../runtime/stun/index.js';
import { relayChannelData } from '../../../runtime/turn/fast-path.js';
import type { RequestSource } from '../../../runtime/turn/server.js';
import { fakeTransport } from '../../helpers/fake-transport.js';

function setup(userQuota = 0, maxAllocations = 10_000) {
  const t = fakeTransport({
    quota: new Quota({ userQuota, maxAllocations }),
    credentials: createStaticAuthenticator(
      'test.realm',
      new Map([
        ['alice', 'secret'],
        ['bob', 'secret'],
      ]),
    ),
  });
  const { out, sockets, table, server, listener } = t;
  const src = t.client();
  const key = longTermKey('alice', 'test.realm', 'secret');
  let nonce = '';
  /** Sends a request and returns the parsed answer (after the async Allocate settles). */
  const request = async (
    method: number,
    add: (b: StunMessageBuilder) => void = () => {},
    opts: { auth?: boolean; txid?: Buffer; from?: RequestSource; user?: string } = {},
  ): Promise<StunMessage> => {
    const b = new StunMessageBuilder(method, MessageClass.REQUEST, opts.txid ?? newTransactionId());
    add(b);
    if (opts.auth ?? true) {
      b.addString(Attr.USERNAME, opts.user ?? 'alice')
        .addString(Attr.REALM, 'test.realm')
        .addString(Attr.NONCE, nonce);
    }
    const buf = b.build(
      (opts.auth ?? true)
        ? {
            integrityKey: opts.user === undefined ? key : longTermKey(opts.user, 'test.realm', 'secret'),
            fingerprint: true,
          }
        : { fingerprint: true },
    );
    const before = out.length;
    const answer = await t.deliver(opts.from ?? src, buf);
    expect(out.length).toBe(before + 1);
    const m = answer!;
    const n = m.get(Attr.NONCE);
    if (n !== undefined) nonce = decodeString(m, n) ?? nonce;
    return m;
  };
  return { out, sockets, table, server, listener, src, request };
}

const code = (m: StunMessage) => {
  const e = m.get(Attr.ERROR_CODE);
  return e === undefined ? 0 : decodeErrorCode(m, e)!.code;
};
const allocate = (b: StunMessageBuilder) => b.addRequestedTransport(Transport.UDP);

describe('TURN handlers over a fake transport', () => {
  it('challenges, allocates once per retransmission and relays through the relay socket it was given', async () => {
    const t = setup();
    const challenge = await t.request(Method.ALLOCATE, allocate, { auth: false });
    expect(code(challenge)).toBe(401);
    const txid = newTransactionId();
    const ok = await t.request(Method.ALLOCATE, allocate, { txid });
    expect(ok.cls).toBe(MessageClass.SUCCESS);
    expect(decodeXorAddress(ok, ok.get(Attr.XOR_RELAYED_ADDRESS)!)).toMatchObject({
      address: '127.0.0.1',
      port: 50_000,
    });
    // A retransmission gets the very same bytes, and no second allocation.
    const first = t.out.at(-1)!;
    await t.request(Method.ALLOCATE, allocate, { txid });
    expect(t.out.at(-1)!.equals(first)).toBe(true);
    expect(t.table.count).toBe(1);
    // A new Allocate from the same client is a mismatch.
    expect(code(await t.request(Method.ALLOCATE, allocate))).toBe(437);

    const peer = { family: 4 as const, address: '127.0.0.2', port: 9000 };
    const bind = await t.request(Method.CHANNEL_BIND, (b) =>
      b.addChannelNumber(0x4000).addXorAddress(Attr.XOR_PEER_ADDRESS, peer),
    );
    expect(bind.cls).toBe(MessageClass.SUCCESS);
    const frame = Buffer.from([0x40, 0x00, 0x00, 0x02, 0x68, 0x69]);
    relayChannelData(t.src.allocation()!, frame, 0, frame.length);
    expect(t.sockets[0]!.sent).toEqual([{ data: 'hi', ip: 0x7f000002, port: 9000 }]);
    // Peer -> client: the relay socket's handler turns it into ChannelData on the client link.
    t.sockets[0]!.handler!(Buffer.from('yo'), 0, 2, 0x7f000002, 9000, undefined);
    expect(t.out.at(-1)!.toString('hex')).toBe(`40000002${Buffer.from('yo').toString('hex')}`);

    const refresh = await t.request(Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, 0));
    expect(refresh.cls).toBe(MessageClass.SUCCESS);
    expect(t.table.count).toBe(0);
    expect(t.sockets[0]!.closed).toBe(true);
    expect(t.src.allocation()).toBeUndefined();
  });

  it('answers 403 outside the perimeter, all or nothing', async () => {
    const t = setup();
    await t.request(Method.ALLOCATE, allocate, { auth: false });
    await t.request(Method.ALLOCATE, allocate);
    const inside = { family: 4 as const, address: '127.0.0.9', port: 1 };
    const outside = { family: 4 as const, address: '10.0.0.1', port: 1 };
    const denied = await t.request(Method.CREATE_PERMISSION, (b) =>
      b.addXorAddress(Attr.XOR_PEER_ADDRESS, inside).addXorAddress(Attr.XOR_PEER_ADDRESS, outside),
    );
    expect(code(denied)).toBe(403);
    expect(t.src.allocation()!.permissions.size).toBe(0);
    const ok = await t.request(Method.CREATE_PERMISSION, (b) =>
      b.addXorAddress(Attr.XOR_PEER_ADDRESS, inside),
    );
    expect(ok.cls).toBe(MessageClass.SUCCESS);
    expect(t.src.allocation()!.permissions.size).toBe(1);
  });

  it('turns the quota hook into 486 before any relay socket is bound', async () => {
    const t = setup(1);
    await t.request(Method.ALLOCATE, allocate, { auth: false });
    await t.request(Method.ALLOCATE, allocate);
    // Another client of the same user: over quota, and no relay socket was bound for it.
    const other: RequestSource = {
      ...t.src,
      clientKey: 2,
      allocation: () => t.table.clients(t.listener).get(2),
    };
    expect(code(await t.request(Method.ALLOCATE, allocate, { from: other }))).toBe(486);
    expect(t.sockets.length).toBe(1);
    expect(t.table.count).toBe(1);
  });

  it('answers 437 to requests without an allocation and 441 to another username, per method', async () => {
    const t = setup();
    await t.request(Method.ALLOCATE, allocate, { auth: false });
    const peer = { family: 4 as const, address: '127.0.0.2', port: 9000 };
    const perMethod: [number, (b: StunMessageBuilder) => void][] = [
      [Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, 600)],
      [Method.CREATE_PERMISSION, (b) => b.addXorAddress(Attr.XOR_PEER_ADDRESS, peer)],
      [Method.CHANNEL_BIND, (b) => b.addChannelNumber(0x4001).addXorAddress(Attr.XOR_PEER_ADDRESS, peer)],
    ];
    for (const [method, add] of perMethod) expect(code(await t.request(method, add))).toBe(437);
    await t.request(Method.ALLOCATE, allocate);
    for (const [method, add] of perMethod) {
      expect(code(await t.request(method, add, { user: 'bob' }))).toBe(441);
    }
    expect(t.src.allocation()!.permissions.size).toBe(0);
    for (const [method, add] of perMethod) {
      expect((await t.request(method, add)).cls).toBe(MessageClass.SUCCESS);
    }
  });

  it('hole 2: EVEN-PORT reservations count toward user_quota and max_allocations; Refresh(0) releases them (issue 15)', async () => {
    const t = setup(5, 100);
    await t.request(Method.ALLOCATE, allocate, { auth: false });
    const evenR = (b: StunMessageBuilder) => {
      allocate(b);
      b.addBuffer(Attr.EVEN_PORT, Buffer.from([0x80]));
    };
    for (let i = 0; i < 50; i++) {
      const a = await t.request(Method.ALLOCATE, evenR);
      if (a.cls === MessageClass.SUCCESS)
        await t.request(Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, 0));
    }
    const open = t.sockets.filter((s) => !s.closed).length;
    expect(t.table.reservationCount).toBeLessThanOrEqual(1);
    expect(open).toBeLessThanOrEqual(5);
    // With one reservation outstanding, the user holds 1 + 1 of its 5: three more allocations, not four.
    const evenOnce = await t.request(Method.ALLOCATE, evenR);
    expect(evenOnce.cls).toBe(MessageClass.SUCCESS);
    let admitted = 0;
    for (let k = 2; k < 8; k++) {
      const other: RequestSource = {
        ...t.src,
        clientKey: k,
        allocation: () => t.table.clients(t.listener).get(k),
      };
      const r = await t.request(Method.ALLOCATE, allocate, { from: other });
      if (r.cls === MessageClass.SUCCESS) admitted++;
      else expect(code(r)).toBe(486);
    }
    expect(admitted).toBe(3);
  });
});

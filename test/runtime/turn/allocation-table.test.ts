/**
 * The allocation table with an injectable clock: lifetimes driven by the one coarse timer (tick),
 * quotas, channel rebinding rules, bounded permissions, relay port ranges and fd release.
 */
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../runtime/log/logger.js';
import { Quota } from '../../../runtime/policy/quota.js';
import { ipv4ToInt } from '../../../runtime/stun/ip.js';
import { udpRelayPorts } from '../../../runtime/transport/udp/relay-socket.js';
import type { Allocation } from '../../../runtime/turn/allocation.js';
import {
  AllocationTable,
  CHANNEL_COOLDOWN_S,
  CHANNEL_LIFETIME_S,
  PERMISSION_LIFETIME_S,
} from '../../../runtime/turn/allocation-table.js';
import { TurnError } from '../../../runtime/turn/errors.js';
import { freeUdpPort } from '../../helpers/net.js';
import { listenerWithLink, routedPerimeter } from '../../helpers/turn-fixtures.js';

const fds = () => readdirSync('/proc/self/fd').length;
const reason = (r: object) => (r instanceof TurnError ? r.reason : '');

function setup(opts: { userQuota?: number; maxAllocations?: number } = {}) {
  let now = 1_000_000;
  const logger = createLogger('all:WARN', () => {});
  const perimeter = routedPerimeter(['127.0.0.0/8']);
  const quota = new Quota(opts);
  const m = new AllocationTable({
    perimeter,
    quota,
    ports: udpRelayPorts,
    logger: logger.scope('turn'),
    now: () => now,
  });
  const { listener, link } = listenerWithLink();
  let key = 1;
  const create = (user = 'alice', extra: object = {}) =>
    m.create({
      listener,
      link,
      clientKey: key++,
      user,
      username: user,
      relayAddress: '127.0.0.1',
      lifetimeS: 600,
      family: 4,
      bindAddress: '127.0.0.1',
      even: false,
      reserveNext: false,
      ...extra,
    });
  return { m, quota, listener, create, advance: (s: number) => (now += s * 1000) };
}

describe('AllocationTable', () => {
  const managers: AllocationTable[] = [];
  afterEach(() => {
    for (const m of managers.splice(0)) m.stop();
  });

  it('expires allocations, permissions and channels from the coarse tick, and frees fds', async () => {
    const base = fds();
    const s = setup();
    managers.push(s.m);
    const a = await s.create();
    expect(fds()).toBe(base + 1);
    expect(s.m.clients(s.listener).get(1)).toBe(a);
    const ip = ipv4ToInt('127.0.0.2');
    expect(s.m.permit(a, ip, '127.0.0.2', 4)).not.toBeInstanceOf(TurnError);
    expect(s.m.bindChannel(a, 0x4000, ipv4ToInt('127.0.0.3'), '127.0.0.3', 9)).not.toBeInstanceOf(TurnError);
    s.m.permit(a, ipv4ToInt('127.0.0.3'), '127.0.0.3', 4);

    s.advance(PERMISSION_LIFETIME_S - 1);
    s.m.tick();
    expect(a.permissions.size).toBe(2);
    s.advance(2);
    s.m.tick();
    expect(a.permissions.size).toBe(0);
    expect(a.channels.size).toBe(1);
    s.m.refresh(a, 600);
    s.advance(CHANNEL_LIFETIME_S - PERMISSION_LIFETIME_S);
    s.m.tick();
    expect(a.channels.size).toBe(0);
    expect(s.m.count).toBe(1);

    s.m.refresh(a, 30);
    s.advance(29);
    s.m.tick();
    expect(s.m.count).toBe(1);
    s.advance(2);
    s.m.tick();
    expect(s.m.count).toBe(0);
    expect(a.closed).toBe(true);
    expect(s.m.clients(s.listener).size).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(fds()).toBe(base);
  });

  it('enforces the channel rebinding rules', async () => {
    const s = setup();
    managers.push(s.m);
    const a = await s.create();
    const p1 = ipv4ToInt('127.0.0.5');
    expect(s.m.bindChannel(a, 0x4000, p1, '127.0.0.5', 1000)).not.toBeInstanceOf(TurnError);
    // Refresh of the same binding is fine.
    expect(s.m.bindChannel(a, 0x4000, p1, '127.0.0.5', 1000)).not.toBeInstanceOf(TurnError);
    // Same number, other peer; same peer, other number: both refused.
    expect(reason(s.m.bindChannel(a, 0x4000, p1, '127.0.0.5', 1001))).toMatch(/bound to another peer/);
    expect(reason(s.m.bindChannel(a, 0x4001, p1, '127.0.0.5', 1000))).toMatch(/bound to channel 4000/);
    expect(s.m.bindChannel(a, 0x4001, p1, '127.0.0.5', 1001)).not.toBeInstanceOf(TurnError);

    // After expiry, 5 minutes of cooldown: the number and the peer stay paired.
    s.m.refresh(a, 3600);
    s.advance(CHANNEL_LIFETIME_S + 1);
    s.m.tick();
    expect(a.channels.size).toBe(0);
    expect(reason(s.m.bindChannel(a, 0x4000, p1, '127.0.0.5', 2000))).toMatch(/less than 5 minutes ago/);
    expect(reason(s.m.bindChannel(a, 0x4002, p1, '127.0.0.5', 1000))).toMatch(/less than 5 minutes ago/);
    expect(s.m.bindChannel(a, 0x4000, p1, '127.0.0.5', 1000)).not.toBeInstanceOf(TurnError);
    s.advance(CHANNEL_COOLDOWN_S + 1);
    s.m.tick();
    expect(a.cooldown.size).toBe(0);
    expect(s.m.bindChannel(a, 0x4002, p1, '127.0.0.5', 1001)).not.toBeInstanceOf(TurnError);
  });

  it('caps allocations per user (486) and globally (508), counting in-flight ones', async () => {
    const s = setup({ userQuota: 2, maxAllocations: 3 });
    managers.push(s.m);
    const [a1] = await Promise.all([s.create('alice'), s.create('alice')]);
    await expect(s.create('alice')).rejects.toMatchObject({ code: 486 });
    await s.create('bob');
    await expect(s.create('carol')).rejects.toMatchObject({ code: 508 });
    s.m.remove(a1!, 'test');
    expect(s.m.userCount('alice')).toBe(1);
    await s.create('alice');
    s.quota.drain();
    s.quota.reconfigure({ userQuota: 2, maxAllocations: 0 });
    const e = await s.create('dave').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TurnError);
    expect((e as TurnError).message).toMatch(/draining/);
  });

  it('binds relay ports from the listener range, even ports and reservations on request', async () => {
    const s = setup();
    managers.push(s.m);
    const lo = await freeUdpPort();
    const got: Allocation[] = [];
    for (let i = 0; i < 3; i++) got.push(await s.create('alice', { minPort: lo, maxPort: lo + 9 }));
    for (const a of got) {
      expect(a.relayPort).toBeGreaterThanOrEqual(lo);
      expect(a.relayPort).toBeLessThanOrEqual(lo + 9);
    }
    expect(new Set(got.map((a) => a.relayPort)).size).toBe(3);
    const even = await s.create('alice', { even: true, reserveNext: true });
    expect(even.relayPort % 2).toBe(0);
    expect(even.reservationToken?.length).toBe(8);
    expect(s.m.reservationCount).toBe(1);
    const next = await s.create('alice', { token: even.reservationToken });
    expect(next.relayPort).toBe(even.relayPort + 1);
    expect(s.m.reservationCount).toBe(0);
    await expect(s.create('alice', { token: Buffer.alloc(8) })).rejects.toMatchObject({ code: 508 });
  });

  it('bounds permissions per allocation', async () => {
    const s = setup();
    managers.push(s.m);
    const a = await s.create();
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const ip = `127.0.${1 + (i >> 8)}.${i & 255}`;
      if (s.m.permit(a, ipv4ToInt(ip), ip, 4) instanceof TurnError) refused++;
    }
    expect(a.permissions.size).toBe(256);
    expect(refused).toBe(44);
  });

  it('owns the 5-tuple index and the Allocates in flight: create indexes, remove and removeListener unindex', async () => {
    const s = setup();
    managers.push(s.m);
    const index = s.m.clients(s.listener);
    const pending = s.create('alice', { clientKey: 7 });
    expect(s.m.isPending(s.listener, 7)).toBe(false); // only with a pending key
    const a = await pending;
    expect(index.get(7)).toBe(a);
    const inFlight = s.m.create(
      {
        listener: s.listener,
        link: a.link,
        clientKey: 8,
        user: 'bob',
        username: 'bob',
        relayAddress: '127.0.0.1',
        lifetimeS: 600,
        family: 4,
        bindAddress: '127.0.0.1',
        even: false,
        reserveNext: false,
      },
      8,
    );
    expect(s.m.isPending(s.listener, 8)).toBe(true);
    const b = await inFlight;
    expect(s.m.isPending(s.listener, 8)).toBe(false);
    expect(index.get(8)).toBe(b);
    s.m.remove(a, 'test');
    expect(index.has(7)).toBe(false);
    expect(a.closed).toBe(true);
    s.m.removeListener(s.listener, 'listener closed');
    expect(index.size).toBe(0);
    expect(s.m.count).toBe(0);
    expect(s.m.cachedAnswer('k')).toBeUndefined();
    s.m.cacheAnswer('k', Buffer.from('answer'));
    expect(s.m.cachedAnswer('k')?.toString()).toBe('answer');
  });
});

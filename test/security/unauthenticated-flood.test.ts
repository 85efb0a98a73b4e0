/**
 * Floods that the runtime withstands today (issue 15, short versions; longer ones: SECURITY_LONG=1):
 * - 100k unauthenticated Allocates: every one answered with a small 401, memory back to its
 *   baseline after the flood, descriptors unchanged, and a legitimate user allocates during it;
 * - a wrong-password flood: the runtime keeps answering 401 quickly, and a correct user gets in;
 * - allocation exhaustion by one (ephemeral) user: user_quota stops it, another user still allocates.
 * The floods that need issue 15's fixes are in floods.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ephemeralPassword, ephemeralUsername } from '../../runtime/policy/auth/authenticator.js';
import { TurnClient, TurnError } from '../helpers/turn-client.js';
import {
  flood,
  type Gateway,
  MiB,
  PASS,
  settledRss,
  startGateway,
  USER,
  unauthenticatedAllocate,
  wrongPasswordFrom,
} from './gateway.js';

const LONG = process.env.SECURITY_LONG === '1';
const FLOOD = LONG ? 1_000_000 : 100_000;

/** Allocates (and releases) as a legitimate client from another loopback host, every `everyMs`. */
function legitimateUser(g: Gateway, everyMs: number): { stop(): Promise<{ ok: number; failed: string[] }> } {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const loop = (async () => {
    while (running) {
      const c = await TurnClient.open({
        host: '127.0.0.1',
        port: g.udpPort,
        username: USER,
        password: PASS,
        localAddress: '127.0.0.2',
        timeoutMs: 3000,
      });
      try {
        await c.allocate();
        await c.refresh(0);
        ok++;
      } catch (e) {
        failed.push(String(e));
      } finally {
        c.close();
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { ok, failed };
    },
  };
}

describe('floods the runtime withstands (short versions)', () => {
  let g: Gateway;

  beforeAll(async () => {
    g = await startGateway();
  });

  afterAll(async () => {
    await g?.stop();
  });

  it(`${FLOOD / 1000}k unauthenticated Allocates: small 401s, memory back to baseline, a legitimate user allocates meanwhile`, async () => {
    // warm-up: JIT, buffer pools and the nonce machinery reach their steady size first
    await flood(g.udpPort, 10_000, unauthenticatedAllocate);
    const rssBefore = await settledRss(g);
    const fdsBefore = g.fds();
    const user = legitimateUser(g, 200);
    const t0 = Date.now();
    const f = await flood(g.udpPort, FLOOD, unauthenticatedAllocate, { timeMs: LONG ? 600_000 : 40_000 });
    const floodMs = Date.now() - t0;
    const legit = await user.stop();
    const rssAfter = await settledRss(g, 2000);
    const requestBytes = unauthenticatedAllocate(Buffer.alloc(12)).length;
    console.log(
      `unauthenticated flood: ${f.sent} sent in ${floodMs} ms, ${f.answered} answered (${[...f.codes].map(([c, n]) => `${c}: ${n}`).join(', ')}), ` +
        `answer <= ${f.maxAnswerBytes} B for a ${requestBytes} B request, RTT p50 ${f.rttP50Ms.toFixed(1)} ms p99 ${f.rttP99Ms.toFixed(1)} ms; ` +
        `RSS ${(rssBefore / MiB).toFixed(1)} -> ${(rssAfter / MiB).toFixed(1)} MiB, fds ${fdsBefore} -> ${g.fds()}; ` +
        `legitimate allocations during the flood: ${legit.ok} ok, ${legit.failed.length} failed`,
    );
    expect(f.sent).toBe(FLOOD);
    expect(f.answered).toBeGreaterThanOrEqual(FLOOD * 0.99);
    expect([...f.codes.keys()]).toEqual([401]); // never an allocation, never another answer
    expect(f.maxAnswerBytes).toBeLessThanOrEqual(2 * requestBytes + 64); // minimal unauthenticated answer
    expect(rssAfter - rssBefore).toBeLessThan(4 * MiB);
    expect(g.fds()).toBe(fdsBefore);
    expect(legit.failed).toEqual([]);
    expect(legit.ok).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('wrong-password flood: answered 401 quickly, and the correct password still gets in', async () => {
    const user = legitimateUser(g, 100);
    const f = await flood(g.udpPort, LONG ? 200_000 : 20_000, unauthenticatedAllocate, {
      perSocket: (s) => wrongPasswordFrom(g.udpPort, s),
      sockets: 20,
      window: 2,
      timeMs: LONG ? 300_000 : 20_000,
    });
    const legit = await user.stop();
    console.log(
      `wrong-password flood: ${f.sent} sent, ${f.answered} answered (${[...f.codes].map(([c, n]) => `${c}: ${n}`).join(', ')}), ` +
        `RTT p50 ${f.rttP50Ms.toFixed(2)} ms p99 ${f.rttP99Ms.toFixed(2)} ms; correct user meanwhile: ${legit.ok} ok, ${legit.failed.length} failed`,
    );
    expect(f.answered).toBeGreaterThanOrEqual(f.sent * 0.99);
    expect([...f.codes.keys()]).toEqual([401]);
    expect(f.rttP50Ms).toBeLessThan(10);
    expect(f.rttP99Ms).toBeLessThan(100);
    expect(legit.failed).toEqual([]);
    expect(legit.ok).toBeGreaterThanOrEqual(3);
  }, 60_000);
});

describe('allocation exhaustion by one user', () => {
  let g: Gateway;
  const SECRET = 'flood-secret';
  const creds = (userid: string) => {
    const username = ephemeralUsername(userid, 3600);
    return { username, password: ephemeralPassword(SECRET, username) };
  };

  beforeAll(async () => {
    g = await startGateway({
      admin: { user_quota: 5, max_allocations: 50 },
      auth: { type: 'ephemeral', realm: 'security', credentials: { secret: SECRET } },
    });
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('user_quota stops one ephemeral user at 5 allocations (486); another user still allocates', async () => {
    const clients: TurnClient[] = [];
    try {
      const codes: number[] = [];
      for (let i = 0; i < 20; i++) {
        const c = await TurnClient.open({ host: '127.0.0.1', port: g.udpPort, ...creds('mallory') });
        clients.push(c);
        try {
          await c.allocate();
          codes.push(0);
        } catch (e) {
          codes.push(e instanceof TurnError ? e.code : -1);
        }
      }
      expect(codes.filter((c) => c === 0)).toHaveLength(5);
      expect(codes.filter((c) => c !== 0).every((c) => c === 486)).toBe(true);
      const alice = await TurnClient.open({ host: '127.0.0.1', port: g.udpPort, ...creds('alice') });
      clients.push(alice);
      await alice.allocate();
    } finally {
      for (const c of clients) c.close();
    }
  });
});

/**
 * Floods that need issue 15's fixes (short versions). On a branch without those fixes these fail,
 * and each says which hole it proves closed:
 * - slowloris, both forms: trickled header bytes are closed by a hard first-frame deadline that
 *   trickling does not reset; a ChannelData header announcing 65,535 bytes then trickling costs
 *   memory by the bytes received (not the announced length) and is closed by the partial-frame
 *   deadline; one client IP cannot keep 500 connections open (per-IP connection cap);
 * - EVEN-PORT cycling (Allocate with EVEN-PORT R, then Refresh(0), by one user): descriptors stay
 *   bounded by user_quota;
 * - allocation exhaustion by one IP: a per-client-IP quota by default, so another host still
 *   allocates when one IP has taken what it may;
 * - failed authentications are counted in a metric.
 * The first-frame deadline is the shipped default that docs/SECURITY.md promises, 10 s: the test
 * checks that the runtime's default is that value, and times the closes against the promise, not
 * against whatever the constant says.
 */

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_QUOTA } from '../../contract/config/types.js';
import { ephemeralPassword, ephemeralUsername } from '../../runtime/policy/auth/authenticator.js';
import { StreamFramer } from '../../runtime/stun/index.js';
import { FIRST_FRAME_MS, FRAME_MS } from '../../runtime/transport/stream/listener.js';
import { TurnClient, TurnError } from '../helpers/turn-client.js';
import { until } from '../helpers/wait.js';
import {
  flood,
  type Gateway,
  MiB,
  settledRss,
  startGateway,
  unauthenticatedAllocate,
  wrongPasswordFrom,
} from './gateway.js';

/** What docs/SECURITY.md promises: the first complete frame within 10 s of accept, a frame within 5 s. */
const PROMISED_FIRST_FRAME_MS = 10_000;
const PROMISED_FRAME_MS = 5_000;
/** Deadlines are swept every 0.5 s; the rest is for a loaded machine. */
const CLOSE_SLACK_MS = 3000;
const TRICKLE_MS = 2000;

interface Held {
  readonly socket: Socket;
  connectedAt: number | undefined;
  closedAt: number | undefined;
}

/** n connections from `from` (a loopback address); each writes `first`, if given, once connected. */
async function open(port: number, n: number, first: Buffer | undefined, from = '127.0.0.1'): Promise<Held[]> {
  const out: Held[] = [];
  await Promise.all(
    Array.from({ length: n }, async () => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: from });
      const h: Held = { socket, connectedAt: undefined, closedAt: undefined };
      socket.on('error', () => {});
      socket.once('close', () => {
        h.closedAt = Date.now();
      });
      await new Promise<void>((r) => {
        socket.once('connect', () => {
          h.connectedAt = Date.now();
          r();
        });
        socket.once('close', () => r());
      });
      if (h.closedAt === undefined && first !== undefined) socket.write(first);
      out.push(h);
    }),
  );
  return out;
}

describe('slowloris (issue 15: first-frame and partial-frame deadlines, growing buffers, per-IP cap)', () => {
  let g: Gateway;

  beforeAll(async () => {
    g = await startGateway();
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('the shipped defaults are the promised deadlines: first frame 10 s, partial frame 5 s', () => {
    expect(FIRST_FRAME_MS).toBe(PROMISED_FIRST_FRAME_MS);
    expect(FRAME_MS).toBe(PROMISED_FRAME_MS);
  });

  it('a framer holding a partial 65,535-byte ChannelData frame holds memory for the bytes received only', () => {
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    const framers: StreamFramer[] = [];
    for (let i = 0; i < 500; i++) {
      const f = new StreamFramer(
        () => {},
        () => {},
      );
      f.push(Buffer.from([0x40, 0x00, 0xff, 0xff, 1, 2, 3, 4]));
      framers.push(f);
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    console.log(`500 partial 65,535-byte frames hold ${(grown / MiB).toFixed(1)} MiB of buffers`);
    expect(framers.every((f) => f.buffered <= 8)).toBe(true);
    expect(grown).toBeLessThan(2 * MiB); // was 500 x 64 KiB = 31 MiB; docs/SECURITY.md promises 2 MiB
  });

  it(
    'both forms, with the default deadlines (10 s first frame): bounded memory, one IP cannot hold 500 connections, all closed by the 10 s deadline',
    async () => {
      const rssBefore = await settledRss(g, 500);
      const t0 = Date.now();
      // silent connections, from another address (the floods below fill 127.0.0.1's per-IP cap):
      // only the first-frame deadline closes them; a trickled byte would start the 5 s frame deadline
      const silent = await open(g.tcpPort, 5, undefined, '127.0.0.3');
      // form 1: a STUN header, one byte every TRICKLE_MS (the 20-byte header takes 10 intervals)
      const header = Buffer.from('000100002112a442000102030405060708090a0b', 'hex');
      const trickled = await open(g.tcpPort, 20, header.subarray(0, 1));
      // form 2: ChannelData announcing 65,535 bytes, then a byte at a time
      const partial = await open(g.tcpPort, 500, Buffer.from([0x40, 0x00, 0xff, 0xff, 0]));
      await new Promise((r) => setTimeout(r, 1000));
      const rssHeld = g.rss();
      const stillOpen = partial.filter((h) => h.closedAt === undefined).length;
      let sent = 1;
      const timer = setInterval(() => {
        for (const h of trickled)
          if (h.closedAt === undefined && sent < header.length)
            h.socket.write(header.subarray(sent, sent + 1));
        for (const h of partial) if (h.closedAt === undefined) h.socket.write(Buffer.from([sent & 0xff]));
        sent++;
      }, TRICKLE_MS);
      try {
        await until(
          'every slowloris connection is closed by the server',
          () => [...trickled, ...partial, ...silent].every((h) => h.closedAt !== undefined),
          PROMISED_FIRST_FRAME_MS + CLOSE_SLACK_MS,
        ).catch(() => undefined);
      } finally {
        clearInterval(timer);
      }
      const openTrickled = trickled.filter((h) => h.closedAt === undefined).length;
      const openPartial = partial.filter((h) => h.closedAt === undefined).length;
      const lastClose = Math.max(...[...trickled, ...partial].map((h) => (h.closedAt ?? Date.now()) - t0));
      console.log(
        `slowloris: ${stillOpen}/500 partial-frame connections accepted from one IP; RSS +${((rssHeld - rssBefore) / MiB).toFixed(1)} MiB while held; ` +
          `after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${openTrickled}/20 trickled-header and ${openPartial}/500 partial-frame connections still open (last close at ${lastClose} ms)`,
      );
      const silentHeld = silent.map((h) =>
        h.connectedAt === undefined ? -1 : (h.closedAt ?? Date.now()) - h.connectedAt,
      );
      console.log(`slowloris: 5 silent connections closed after ${silentHeld.join(', ')} ms`);
      for (const h of [...trickled, ...partial, ...silent]) h.socket.destroy();
      // the first-frame deadline, and nothing shorter, closed the silent ones (swept every 0.5 s)
      for (const held of silentHeld) {
        expect(held).toBeGreaterThanOrEqual(PROMISED_FIRST_FRAME_MS - 250);
        expect(held).toBeLessThanOrEqual(PROMISED_FIRST_FRAME_MS + CLOSE_SLACK_MS);
      }
      expect(stillOpen).toBeLessThan(500); // a per-IP connection cap
      expect(rssHeld - rssBefore).toBeLessThan(16 * MiB); // the bug: +67 MiB for 500
      expect(openTrickled).toBe(0); // trickling did not reset the first-frame deadline
      expect(openPartial).toBe(0); // nor the partial-frame deadline
      expect(lastClose).toBeLessThanOrEqual(PROMISED_FIRST_FRAME_MS + CLOSE_SLACK_MS);
    },
    PROMISED_FIRST_FRAME_MS + 30_000,
  );
});

describe('EVEN-PORT cycling (issue 15: reservations count toward the quotas)', () => {
  let g: Gateway;

  beforeAll(async () => {
    g = await startGateway({ admin: { user_quota: 5, max_allocations: 100 } });
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('Allocate with EVEN-PORT R + Refresh(0), repeated by one user: descriptors bounded by user_quota', async () => {
    const fdsBefore = g.fds();
    let fdsMax = fdsBefore;
    const c = await TurnClient.open({
      host: '127.0.0.1',
      port: g.udpPort,
      username: 'user',
      password: 'pass',
    });
    const codes = new Map<number, number>();
    const deadline = Date.now() + 6000;
    let cycles = 0;
    try {
      for (; cycles < 1500 && Date.now() < deadline; cycles++) {
        try {
          await c.allocate((b) => b.addRequestedTransport(17).addEvenPort(true));
          await c.refresh(0);
          codes.set(0, (codes.get(0) ?? 0) + 1);
        } catch (e) {
          const code = e instanceof TurnError ? e.code : -1;
          codes.set(code, (codes.get(code) ?? 0) + 1);
          if (code === -1) throw e;
        }
        if (cycles % 10 === 0) fdsMax = Math.max(fdsMax, g.fds());
      }
    } finally {
      c.close();
    }
    fdsMax = Math.max(fdsMax, g.fds());
    console.log(
      `EVEN-PORT cycling: ${cycles} cycles (${[...codes].map(([k, n]) => `${k || 'ok'}: ${n}`).join(', ')}), descriptors ${fdsBefore} -> max ${fdsMax}`,
    );
    // each allocation holds its socket and the reserved neighbour: 2 per allocation, 5 allocations
    expect(fdsMax - fdsBefore).toBeLessThanOrEqual(2 * 5 + 4);
  }, 30_000);
});

describe('allocation exhaustion by one IP (issue 15: a per-client-IP quota by default)', () => {
  let g: Gateway;
  const SECRET = 'ip-secret';
  const MAX_ALLOCATIONS = DEFAULT_CLIENT_QUOTA + 100;
  const creds = (userid: string) => {
    const username = ephemeralUsername(userid, 3600);
    return { username, password: ephemeralPassword(SECRET, username) };
  };

  beforeAll(async () => {
    // no user_quota: every allocation below comes from its own ephemeral user, all from 127.0.0.1
    g = await startGateway({
      // Above the default per-client-IP quota (admin.client_quota), so that quota must act first.
      admin: { max_allocations: MAX_ALLOCATIONS },
      auth: { type: 'ephemeral', realm: 'security', credentials: { secret: SECRET } },
    });
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('one IP cannot take every allocation: it is refused before max_allocations, another host still allocates', async () => {
    const clients: TurnClient[] = [];
    const codes = new Map<number, number>();
    try {
      for (let i = 0; i < MAX_ALLOCATIONS; i++) {
        const c = await TurnClient.open({ host: '127.0.0.1', port: g.udpPort, ...creds(`u${i}`) });
        clients.push(c);
        try {
          await c.allocate();
          codes.set(0, (codes.get(0) ?? 0) + 1);
        } catch (e) {
          const code = e instanceof TurnError ? e.code : -1;
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }
      const other = await TurnClient.open({
        host: '127.0.0.1',
        port: g.udpPort,
        ...creds('bob'),
        localAddress: '127.0.0.2',
      });
      clients.push(other);
      let otherCode = 0;
      try {
        await other.allocate();
      } catch (e) {
        otherCode = e instanceof TurnError ? e.code : -1;
      }
      console.log(
        `one IP, ${MAX_ALLOCATIONS} users: ${[...codes].map(([k, n]) => `${k || 'ok'}: ${n}`).join(', ')}; another host: ${otherCode || 'ok'}`,
      );
      // The per-client-IP quota stops it, with 486, well before the gateway's own cap.
      expect(codes.get(0) ?? 0).toBe(DEFAULT_CLIENT_QUOTA);
      expect(codes.get(486) ?? 0).toBe(MAX_ALLOCATIONS - DEFAULT_CLIENT_QUOTA);
      expect(otherCode).toBe(0);
    } finally {
      for (const c of clients) c.close();
    }
  }, 60_000);
});

describe('failed authentications (issue 15: counted in a metric)', () => {
  let g: Gateway;

  beforeAll(async () => {
    g = await startGateway();
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('a wrong-password flood shows in a failed-authentication counter', async () => {
    const f = await flood(g.udpPort, 2000, unauthenticatedAllocate, {
      sockets: 10,
      window: 4,
      perSocket: (s) => wrongPasswordFrom(g.udpPort, s),
    });
    expect(f.codes.get(401)).toBeGreaterThan(1900);
    const text = await g.metrics();
    const lines = text
      .split('\n')
      .filter((l) => !l.startsWith('#') && /auth/i.test(l) && /fail|reject|denied|invalid|error/i.test(l));
    const total = lines.reduce((n, l) => n + Number(l.split(/\s+/).at(-1)), 0);
    console.log(`auth failure metric lines: ${lines.join(' | ') || '(none)'}`);
    expect(total).toBeGreaterThanOrEqual(f.codes.get(401)!);
  }, 30_000);
});

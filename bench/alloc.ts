/**
 * Allocation benchmarks: rate through the full 401-then-authenticated flow, RSS per allocation,
 * descriptors released after Refresh(lifetime 0), and (our runtime) memory after an
 * unauthenticated flood.
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { sleep } from './load.js';
import { cpuMicros, fdCount, rssBytes } from './proc.js';
import type { ServerHandle } from './servers.js';
import { PASS, USER } from './servers.js';
import { Attr, Cls, decode, encode, Method, newTxid, u32 } from './stun.js';
import { TurnClient } from './turn-client.js';

export interface AllocOptions {
  readonly count: number;
  readonly concurrency: number;
  /** How long to wait for descriptors to return to baseline after the last Refresh(0). */
  readonly releaseWaitMs: number;
}

export interface AllocResult {
  readonly allocations: number;
  readonly failures: number;
  /** Client retransmissions (requests the server did not answer within the RTO). */
  readonly retransmissions: number;
  readonly firstError: string | undefined;
  readonly allocsPerSec: number;
  /** Server CPU per allocation (both requests), and its CPU use during the allocation phase. */
  readonly cpuUsPerAlloc: number;
  readonly serverCores: number;
  readonly generatorCores: number;
  /**
   * Marginal RSS per allocation: growth over the second half of the allocations divided by their
   * number. One-time growth (the V8 young generation and heap pages sizing up to the load, which
   * happens in the first half) is excluded; anything each allocation keeps is not.
   */
  readonly rssPerAllocBytes: number;
  /** RSS growth over all allocations / allocations: includes the one-time growth. */
  readonly rssPerAllocAllBytes: number;
  readonly fdBaseline: number;
  readonly fdWithAllocations: number;
  /** Descriptors left after the wait. */
  readonly fdAfter: number;
  /** ms from the last Refresh(0) answer until descriptors were back to baseline; NaN if never. */
  readonly fdReleaseMs: number;
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Allocates and releases `n` allocations (warms the server's heap and caches before measuring).
 * Returns the sockets still open: closing them now would let the kernel hand their ports to the
 * measured clients while a server (coturn) still remembers the released 5-tuples (437 mismatch).
 */
async function warmUp(server: ServerHandle, n: number, concurrency: number): Promise<TurnClient[]> {
  const clients: TurnClient[] = [];
  for (let i = 0; i < n; i++) {
    clients.push(
      await TurnClient.open({ address: '127.0.0.1', port: server.port }, { user: USER, pass: PASS }),
    );
  }
  await pool(clients, concurrency, async (c) => {
    try {
      await c.allocate();
      await c.refresh(0);
    } catch {
      // counted in the measured phase, not here
    }
  });
  return clients;
}

export async function runAllocations(server: ServerHandle, opts: AllocOptions): Promise<AllocResult> {
  const pid = server.pid;
  const warm = await warmUp(server, Math.min(300, opts.count), opts.concurrency);
  // coturn frees released relay sockets on a ~1 s timer: let every server settle first
  await sleep(1500);
  const fdBaseline = fdCount(pid);
  const rss0 = rssBytes(pid);
  const clients: TurnClient[] = [];
  // Sockets are opened before the clock starts: the client's own setup is not the server's rate.
  for (let i = 0; i < opts.count; i++) {
    clients.push(
      await TurnClient.open({ address: '127.0.0.1', port: server.port }, { user: USER, pass: PASS }),
    );
  }
  const ok: TurnClient[] = [];
  let failures = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const cpu0 = cpuMicros(pid);
  const gen0 = process.cpuUsage();
  const rtx0 = TurnClient.retransmissions;
  const allocate = async (c: TurnClient): Promise<void> => {
    try {
      await c.allocate();
      ok.push(c);
    } catch (e) {
      failures++;
      firstError ??= (e as Error).message;
    }
  };
  const half = Math.floor(clients.length / 2);
  await pool(clients.slice(0, half), opts.concurrency, allocate);
  // RSS sample between the halves; the pause is left out of the rate and the CPU figures.
  const pauseT = performance.now();
  const pauseCpu = cpuMicros(pid);
  await sleep(500);
  const rssHalf = rssBytes(pid);
  const okHalf = ok.length;
  const pausedMs = performance.now() - pauseT;
  const pausedCpu = cpuMicros(pid) - pauseCpu;
  await pool(clients.slice(half), opts.concurrency, allocate);
  const elapsed = (performance.now() - t0 - pausedMs) / 1000;
  const cpu = cpuMicros(pid) - cpu0 - pausedCpu;
  const retransmissions = TurnClient.retransmissions - rtx0;
  const gen = process.cpuUsage(gen0);
  await sleep(500);
  const rss1 = rssBytes(pid);
  const fdWithAllocations = fdCount(pid);

  await pool(ok, opts.concurrency, async (c) => {
    try {
      await c.refresh(0);
    } catch (e) {
      firstError ??= `refresh(0): ${(e as Error).message}`;
    }
  });
  const tRel = performance.now();
  let fdReleaseMs = Number.NaN;
  let fdAfter = fdCount(pid);
  while (performance.now() - tRel < opts.releaseWaitMs) {
    fdAfter = fdCount(pid);
    if (fdAfter <= fdBaseline) {
      fdReleaseMs = performance.now() - tRel;
      break;
    }
    await sleep(10);
  }
  for (const c of clients) c.close();
  for (const c of warm) c.close();
  return {
    allocations: ok.length,
    failures,
    retransmissions,
    firstError,
    allocsPerSec: ok.length / elapsed,
    cpuUsPerAlloc: ok.length > 0 ? cpu / ok.length : Number.NaN,
    serverCores: cpu / 1e6 / elapsed,
    generatorCores: (gen.user + gen.system) / 1e6 / elapsed,
    rssPerAllocBytes: ok.length > okHalf ? (rss1 - rssHalf) / (ok.length - okHalf) : Number.NaN,
    rssPerAllocAllBytes: ok.length > 0 ? (rss1 - rss0) / ok.length : Number.NaN,
    fdBaseline,
    fdWithAllocations,
    fdAfter,
    fdReleaseMs,
  };
}

export interface FloodResult {
  readonly requests: number;
  readonly answered: number;
  readonly sources: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** RSS after the first half of the requests (and the same settle time). */
  readonly rssHalfwayBytes: number;
  readonly fdBefore: number;
  readonly fdAfter: number;
  /** Largest answer to an unauthenticated request, in bytes (amplification check). */
  readonly maxAnswerBytes: number;
  readonly requestBytes: number;
}

/**
 * Sends `total` unauthenticated Allocate requests from many source ports (batches of sockets, each
 * with a small window), then waits `settleMs` and compares RSS and descriptors.
 */
export async function runFlood(server: ServerHandle, total: number, settleMs: number): Promise<FloodResult> {
  const pid = server.pid;
  const SOCKETS = 50;
  const PER_SOCKET = 100;
  const WINDOW = 8;
  const attrs: [number, Buffer][] = [
    [Attr.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0])],
    [Attr.LIFETIME, u32(600)],
  ];
  const requestBytes = encode(Method.ALLOCATE, Cls.REQUEST, newTxid(), attrs).length;
  await sleep(300);
  const rssBeforeBytes = rssBytes(pid);
  const fdBefore = fdCount(pid);
  let sent = 0;
  let answered = 0;
  let sources = 0;
  let maxAnswerBytes = 0;
  let rssHalfwayBytes = 0;
  while (sent < total) {
    if (rssHalfwayBytes === 0 && sent >= total / 2) {
      await sleep(settleMs);
      rssHalfwayBytes = rssBytes(pid);
    }
    const batch = Math.min(SOCKETS, Math.ceil((total - sent) / PER_SOCKET));
    await Promise.all(
      Array.from({ length: batch }, async () => {
        const s = dgram.createSocket('udp4');
        s.on('error', () => {});
        await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
        await new Promise<void>((res) => s.connect(server.port, '127.0.0.1', res));
        sources++;
        let mine = 0;
        await new Promise<void>((res) => {
          let inFlight = 0;
          let idle: NodeJS.Timeout | undefined;
          const fire = (): void => {
            while (inFlight < WINDOW && mine < PER_SOCKET && sent < total) {
              s.send(encode(Method.ALLOCATE, Cls.REQUEST, newTxid(), attrs));
              inFlight++;
              mine++;
              sent++;
            }
            clearTimeout(idle);
            // a dropped request must not stall the batch
            idle = setTimeout(() => {
              s.close();
              res();
            }, 500);
            if (inFlight === 0) {
              clearTimeout(idle);
              s.close();
              res();
            }
          };
          s.on('message', (m) => {
            const d = decode(m);
            if (!d || d.method !== Method.ALLOCATE) return;
            answered++;
            if (m.length > maxAnswerBytes) maxAnswerBytes = m.length;
            inFlight--;
            fire();
          });
          fire();
        });
      }),
    );
  }
  await sleep(settleMs);
  return {
    requests: sent,
    answered,
    sources,
    rssBeforeBytes,
    rssAfterBytes: rssBytes(pid),
    rssHalfwayBytes,
    fdBefore,
    fdAfter: fdCount(pid),
    maxAnswerBytes,
    requestBytes,
  };
}

/**
 * The soak: a steady number of allocations with ChannelData both ways at a modest rate through our
 * runtime (the shipped bundle with the pod's Node flags), while its RSS and descriptors are sampled.
 * Passes when RSS grows less than 5 % from the end of the warm-up to the end, descriptors stay
 * where the allocations put them, and (nearly) every datagram comes back.
 *
 *   npm run soak                      # 10 minutes, 1,000 allocations, 1 packet/s each way per allocation
 *   SOAK_MINUTES=30 SOAK_ALLOCATIONS=2000 SOAK_RATE=2 npm run soak
 *
 * `runSoak` is also what the 60-second CI version (test/security/soak.test.ts) runs.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fdCount, rssBytes } from './proc.js';
import { freeUdpPort, PASS, stunnerd, USER } from './servers.js';
import { TurnClient } from './turn-client.js';

export interface SoakOptions {
  readonly allocations: number;
  /** ChannelData packets per second per allocation (each echoed back: the same again downstream). */
  readonly rate: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Progress lines (every sample) go here. */
  readonly log?: (line: string) => void;
}

export interface SoakSample {
  readonly atMs: number;
  readonly rss: number;
  readonly fds: number;
}

export interface SoakResult {
  readonly allocations: number;
  readonly allocateMs: number;
  readonly sent: number;
  readonly received: number;
  readonly lossPct: number;
  readonly samples: readonly SoakSample[];
  /** Median RSS of the first quarter of the samples after the warm-up, and of the last quarter. */
  readonly rssStart: number;
  readonly rssEnd: number;
  readonly rssGrowthPct: number;
  readonly fdsMin: number;
  readonly fdsMax: number;
  /** Allocations refreshed (with their channel) during the run. */
  readonly refreshes: number;
}

const CHANNEL = 0x4000;
const SAMPLE_MS = 2000;
/** Allocation, permission and channel refresh period (permissions last 300 s, allocations 600 s). */
const REFRESH_MS = 4 * 60_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function runSoak(server: { pid: number; port: number }, opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const host = '127.0.0.1';
  // echo peers: a few sockets that send every datagram back where it came from (the relay address)
  const peers: dgram.Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 21, sendBufferSize: 1 << 21 });
    s.on('error', () => {});
    s.on('message', (m, r) => s.send(m, r.port, r.address));
    await new Promise<void>((res) => s.bind(0, host, res));
    peers.push(s);
  }
  const clients: TurnClient[] = [];
  let sent = 0;
  let received = 0;
  const t0 = Date.now();
  try {
    for (let i = 0; i < opts.allocations; i += 32) {
      await Promise.all(
        Array.from({ length: Math.min(32, opts.allocations - i) }, async (_, j) => {
          const c = await TurnClient.open({ address: host, port: server.port }, { user: USER, pass: PASS });
          clients.push(c);
          await c.allocate(600);
          await c.channelBind(CHANNEL, {
            address: host,
            port: peers[(i + j) % peers.length]!.address().port,
          });
          c.setHandler((m) => {
            if ((m[0]! & 0xc0) === 0x40) received++;
          });
        }),
      );
    }
    const allocateMs = Date.now() - t0;
    log(`${clients.length} allocations in ${allocateMs} ms`);

    // steady traffic: every 50 ms a slice of the clients sends one ChannelData each
    const payload = Buffer.alloc(4 + 100, 0x5a);
    payload.writeUInt16BE(CHANNEL, 0);
    payload.writeUInt16BE(100, 2);
    const perTick = Math.max(1, Math.round((clients.length * opts.rate) / 20));
    let next = 0;
    const traffic = setInterval(() => {
      for (let k = 0; k < perTick; k++) {
        clients[next]!.sock.send(payload);
        next = (next + 1) % clients.length;
        sent++;
      }
    }, 50);

    // clients refresh on their own schedules, not all at once: every sample interval the next slice
    // of them refreshes its allocation and its channel (which refreshes the permission too), so
    // that each is refreshed once per REFRESH_MS
    let refreshes = 0;
    let nextRefresh = 0;
    const perSample = Math.ceil((clients.length * SAMPLE_MS) / REFRESH_MS);
    const refreshSlice = async (): Promise<void> => {
      const slice = Array.from({ length: perSample }, (_, k) => (nextRefresh + k) % clients.length);
      nextRefresh = (nextRefresh + perSample) % clients.length;
      await Promise.all(
        slice.map(async (i) => {
          const c = clients[i]!;
          c.restoreControl();
          await c.refresh(600);
          await c.channelBind(CHANNEL, { address: host, port: peers[i % peers.length]!.address().port });
          c.setHandler((m) => {
            if ((m[0]! & 0xc0) === 0x40) received++;
          });
          refreshes++;
        }),
      );
    };

    const samples: SoakSample[] = [];
    const start = Date.now();
    while (Date.now() - start < opts.warmupMs + opts.durationMs) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      await refreshSlice();
      const s = { atMs: Date.now() - start, rss: rssBytes(server.pid), fds: fdCount(server.pid) };
      samples.push(s);
      log(
        `${(s.atMs / 1000).toFixed(0).padStart(4)} s${s.atMs < opts.warmupMs ? ' (warm-up)' : ''}: RSS ${(s.rss / 2 ** 20).toFixed(1)} MiB, ${s.fds} fds, ${sent} sent, ${received} back`,
      );
    }
    clearInterval(traffic);
    await new Promise((r) => setTimeout(r, 500));
    const after = samples.filter((s) => s.atMs >= opts.warmupMs);
    // RSS saws up and down with garbage collection: compare the medians of the first and the last
    // quarter of the samples after the warm-up, not single samples
    const k = Math.max(1, Math.floor(after.length / 4));
    const rssStart = median(after.slice(0, k).map((s) => s.rss));
    const rssEnd = median(after.slice(-k).map((s) => s.rss));
    return {
      allocations: clients.length,
      allocateMs,
      sent,
      received,
      lossPct: sent === 0 ? 0 : (100 * (sent - received)) / sent,
      samples,
      rssStart,
      rssEnd,
      rssGrowthPct: rssStart === 0 ? 0 : (100 * (rssEnd - rssStart)) / rssStart,
      fdsMin: Math.min(...after.map((s) => s.fds)),
      fdsMax: Math.max(...after.map((s) => s.fds)),
      refreshes,
    };
  } finally {
    for (const c of clients) c.close();
    for (const p of peers) p.close();
  }
}

/** What the soak promises; an empty list when it held. */
export function soakProblems(r: SoakResult, allocations: number): string[] {
  const out: string[] = [];
  if (r.allocations !== allocations) out.push(`${r.allocations} of ${allocations} allocations`);
  if (r.rssGrowthPct >= 5) out.push(`RSS grew ${r.rssGrowthPct.toFixed(1)} % after the warm-up`);
  if (r.fdsMax - r.fdsMin > 2) out.push(`descriptors moved between ${r.fdsMin} and ${r.fdsMax}`);
  if (r.lossPct >= 1) out.push(`${r.lossPct.toFixed(2)} % of the datagrams lost`);
  return out;
}

export function describeSoak(r: SoakResult, minutes: number): string {
  return (
    `soak ${minutes} min: ${r.allocations} allocations (set up in ${r.allocateMs} ms), ${r.sent} ChannelData sent, ` +
    `${r.received} echoed back (loss ${r.lossPct.toFixed(3)} %), ${r.refreshes} allocation refreshes; RSS after warm-up ` +
    `${(r.rssStart / 2 ** 20).toFixed(1)} -> ${(r.rssEnd / 2 ** 20).toFixed(1)} MiB (${r.rssGrowthPct >= 0 ? '+' : ''}${r.rssGrowthPct.toFixed(2)} %), ` +
    `descriptors ${r.fdsMin}..${r.fdsMax}`
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const minutes = Number(process.env.SOAK_MINUTES ?? 10);
  const allocations = Number(process.env.SOAK_ALLOCATIONS ?? 1000);
  const rate = Number(process.env.SOAK_RATE ?? 1);
  const tmp = mkdtempSync(path.join(tmpdir(), 'soak-'));
  const server = await stunnerd().start(await freeUdpPort(), tmp);
  let code = 0;
  try {
    const r = await runSoak(server, {
      allocations,
      rate,
      warmupMs: Math.min(60_000, (minutes * 60_000) / 5),
      durationMs: minutes * 60_000 - Math.min(60_000, (minutes * 60_000) / 5),
      log: (l) => console.log(l),
    });
    console.log(describeSoak(r, minutes));
    const problems = soakProblems(r, allocations);
    for (const p of problems) console.log(`FAIL: ${p}`);
    if (problems.length === 0) console.log('PASS');
    code = problems.length > 0 ? 1 : 0;
  } finally {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  process.exit(code);
}

/**
 * The pinned phase (issue 29): every server alone on one core (`taskset -c 1`), the load
 * generator and the echo peer on the other (core 0), and the C forwarder floors beside the TURN
 * servers as reference rows. Server CPU time per forwarded packet is counted as in the rest of
 * the bench (utime + stime of the server's process, bench/proc.ts), here read by turn-blast itself
 * at the edges of its measured window.
 *
 * Loads, per server, in rounds interleaved across servers:
 * - "fixed rate": bench/native's turn-blast sends `rate` packets/s (open loop, sendmmsg, 10
 *   flows) to the C echo peer; every packet crosses the server twice. The same offered load for
 *   every row, floors included, below every server's one-core capacity: µs/packet at equal work.
 * - "saturation": turn-blast in a closed loop, `satFlows` flows × `satWindow` packets in flight:
 *   the server's core is the bottleneck, so relayed pkt/s is its one-core capacity.
 * - "echo peer" and "client to client": the bench's own Node generator at the bench's load (10
 *   clients × window 16), through the same C echo peer and between paired clients.
 *
 * A floor gets `turn-blast --raw` and the Node generator's raw mode (bench/load.ts runRawLoad):
 * plain UDP payloads of the same size, no TURN; its client-to-client run uses a forwarder of its
 * own started with --pairs.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type LoadResult, runLoad, runRawLoad } from './load.js';
import { buildNative, type NativeTools } from './native/build.js';
import { fmt, kpps, medianRound } from './report.js';
import { freeUdpPort, PASS, type ServerHandle, type ServerSpec, USER } from './servers.js';

/** One turn-blast run (its JSON, the fields the bench uses). */
export interface BlastResult {
  readonly relayedPerSec: number;
  readonly cpuUsPerPkt: number;
  readonly serverCores: number;
  readonly generatorCores: number;
  readonly peerCores: number;
  readonly sent: number;
  readonly lost: number;
  readonly lossPct: number;
  readonly sendBlocked: number;
  readonly rttP50Us: number;
  readonly rttP99Us: number;
}

export interface PinnedRow {
  readonly key: string;
  readonly name: string;
  /** A C forwarder floor (no TURN) rather than a TURN server. */
  readonly floor: boolean;
  readonly error?: string;
  /** Median rounds (by CPU per packet for the fixed rate, by pkt/s otherwise). */
  readonly fixedRate?: BlastResult;
  readonly saturation?: BlastResult;
  readonly nodeEcho?: LoadResult;
  readonly nodePairs?: LoadResult;
  readonly rounds?: {
    readonly fixedRate: readonly BlastResult[];
    readonly saturation: readonly BlastResult[];
    readonly nodeEcho: readonly LoadResult[];
    readonly nodePairs: readonly LoadResult[];
  };
}

export interface PinnedConfig {
  readonly payload: number;
  /** Flows of the fixed-rate load, and its offered rate in packets/s sent (each relayed twice). */
  readonly flows: number;
  readonly rate: number;
  readonly satFlows: number;
  readonly satWindow: number;
  /** The Node generator's bench load. */
  readonly nodeClients: number;
  readonly nodeWindow: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly rounds: number;
}

export interface PinnedEntry {
  readonly key: string;
  /** A TURN server, or a floor: which forwarder binary. */
  readonly spec?: ServerSpec;
  readonly floor?: 'fwdPlain' | 'fwdMmsg' | 'fwdMmsgCd';
  readonly name: string;
}

export const FLOORS: readonly PinnedEntry[] = [
  { key: 'fwd-plain', floor: 'fwdPlain', name: 'C forwarder floor, recvfrom/sendto' },
  { key: 'fwd-mmsg', floor: 'fwdMmsg', name: 'C forwarder floor, recvmmsg/sendmmsg' },
  // a reference row, no target: what a relay's per-packet TURN work costs in C
  {
    key: 'fwd-mmsg-cd',
    floor: 'fwdMmsgCd',
    name: 'C forwarder, recvmmsg/sendmmsg, ChannelData parse and channel lookup',
  },
];

export const SERVER_CORE = '1';
export const GENERATOR_CORE = '0';

/** Pins every thread of a process to `cpus`; throws with taskset's message when it cannot. */
export function pin(pid: number, cpus: string): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${r.error?.message ?? r.stderr.trim()}`);
}

/** Why the pinned phase cannot run here, or undefined. */
export function pinnedUnavailable(cores: number): string | undefined {
  if (cores < 2) return `needs 2 cores (server on one, generator on the other), this machine has ${cores}`;
  if (spawnSync('sh', ['-c', 'command -v taskset']).status !== 0) return 'taskset (util-linux) is missing';
  return undefined;
}

/** A C helper started on the generator's core; resolves once it printed its port. */
export interface CProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly port: number;
  output(): string;
  /** SIGTERM, then its final JSON line (counts), or undefined if it died silent. */
  stop(): Promise<Record<string, number> | undefined>;
}

export async function startC(bin: string, args: readonly string[], cpus?: string): Promise<CProcess> {
  const [cmd, argv] = cpus ? ['taskset', ['-c', cpus, bin, ...args]] : [bin, [...args]];
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer): void => {
    out = (out + b.toString()).slice(-8000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const port = await new Promise<number>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${path.basename(bin)} printed no port in 5 s: ${out}`)), 5000);
    const check = (): void => {
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) {
        clearTimeout(t);
        proc.stdout!.off('data', check);
        res(Number(m[1]));
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (c) => {
      clearTimeout(t);
      rej(new Error(`${path.basename(bin)} exited with ${c}: ${out}`));
    });
  });
  return {
    proc,
    pid: proc.pid!,
    port,
    output: () => out,
    stop: () =>
      new Promise((res) => {
        const last = (): Record<string, number> | undefined => {
          const line = out.trim().split('\n').at(-1) ?? '';
          try {
            return JSON.parse(line) as Record<string, number>;
          } catch {
            return undefined;
          }
        };
        if (proc.exitCode !== null || proc.signalCode !== null) return res(last());
        const kill = setTimeout(() => proc.kill('SIGKILL'), 3000);
        proc.once('exit', () => {
          clearTimeout(kill);
          res(last());
        });
        proc.kill('SIGTERM');
      }),
  };
}

export interface BlastOptions {
  readonly server: number;
  readonly peer?: number;
  readonly raw?: boolean;
  /** With raw: ChannelData frames (fwd-mmsg-cd) rather than bare payloads. */
  readonly rawChannel?: boolean;
  readonly flows: number;
  readonly payload: number;
  readonly window?: number;
  readonly rate?: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly drainMs?: number;
  /** Server processes whose CPU turn-blast counts, and the echo peer's. */
  readonly cpuPids?: readonly number[];
  readonly peerPid?: number;
  /** taskset CPU list for the generator. */
  readonly cpus?: string;
}

/** Runs turn-blast once and returns its JSON; throws with its output when it fails. */
export async function runBlast(bin: string, o: BlastOptions): Promise<Record<string, unknown>> {
  const args = [
    '--server',
    `127.0.0.1:${o.server}`,
    ...(o.peer !== undefined ? ['--peer', `127.0.0.1:${o.peer}`] : []),
    ...(o.raw ? [o.rawChannel ? '--raw-channel' : '--raw'] : ['--user', USER, '--pass', PASS]),
    '--flows',
    String(o.flows),
    '--payload',
    String(o.payload),
    ...(o.window ? ['--window', String(o.window)] : []),
    ...(o.rate ? ['--rate', String(o.rate)] : []),
    '--warmup-ms',
    String(o.warmupMs),
    '--duration-ms',
    String(o.durationMs),
    '--drain-ms',
    String(o.drainMs ?? 300),
    ...(o.cpuPids ?? []).flatMap((p) => ['--cpu-pid', String(p)]),
    ...(o.peerPid ? ['--peer-pid', String(o.peerPid)] : []),
  ];
  const [cmd, argv] = o.cpus ? ['taskset', ['-c', o.cpus, bin, ...args]] : [bin, args];
  const bound = o.warmupMs + o.durationMs + (o.drainMs ?? 300) + 30_000;
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  proc.stderr!.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-4000);
  });
  const code = await new Promise<number | null>((res) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), bound);
    proc.once('exit', (c) => {
      clearTimeout(t);
      res(c);
    });
  });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(out.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  if (code !== 0 || !json || json['error'])
    throw new Error(`turn-blast exited with ${code}: ${String(json?.['error'] ?? out.trim())} ${err.trim()}`);
  return json;
}

export function blastResult(j: Record<string, unknown>): BlastResult {
  const n = (k: string): number => (typeof j[k] === 'number' ? (j[k] as number) : Number.NaN);
  const lat = (j['latency_us'] ?? {}) as Record<string, number>;
  return {
    relayedPerSec: n('relayed_per_s'),
    cpuUsPerPkt: n('cpu_us_per_pkt'),
    serverCores: n('server_cores'),
    generatorCores: n('generator_cores'),
    peerCores: n('peer_cores'),
    sent: n('sent'),
    lost: n('lost'),
    lossPct: n('loss_pct'),
    sendBlocked: n('send_blocked'),
    rttP50Us: lat['p50'] ?? Number.NaN,
    rttP99Us: lat['p99'] ?? Number.NaN,
  };
}

/** The client-to-client floor: a forwarder of its own with --pairs, on the server core, for one run. */
async function pairsFloor(
  bin: string,
  run: (fwd: { port: number; pid: number }) => Promise<LoadResult>,
): Promise<LoadResult> {
  const fwd = await startC(bin, ['--pairs', '--max-ms', String(10 * 60_000)], SERVER_CORE);
  try {
    return await run(fwd);
  } finally {
    await fwd.stop();
  }
}

interface Running {
  readonly entry: PinnedEntry;
  readonly handle?: ServerHandle;
  readonly fwd?: CProcess;
  readonly pid: number;
  readonly port: number;
}

/**
 * Runs the pinned phase over `entries` (servers and floors) and returns one row per entry. This
 * process is pinned to the generator's core for the phase and released to every core after.
 */
export async function runPinned(
  entries: readonly PinnedEntry[],
  cfg: PinnedConfig,
  tmp: string,
  cores: number,
  log: (msg: string) => void,
): Promise<PinnedRow[]> {
  const rows = new Map<string, PinnedRow>();
  const why = pinnedUnavailable(cores);
  let tools: NativeTools | undefined;
  try {
    tools = why ? undefined : buildNative();
  } catch (e) {
    return entries.map((e2) => ({
      key: e2.key,
      name: e2.name,
      floor: !!e2.floor,
      error: (e as Error).message,
    }));
  }
  if (!tools) return entries.map((e) => ({ key: e.key, name: e.name, floor: !!e.floor, error: why }));
  const all = `0-${cores - 1}`;
  const running: Running[] = [];
  let echo: CProcess | undefined;
  pin(process.pid, GENERATOR_CORE);
  try {
    echo = await startC(tools.udpEcho, ['--max-ms', String(30 * 60_000)], GENERATOR_CORE);
    for (const entry of entries) {
      const row = { key: entry.key, name: entry.name, floor: !!entry.floor };
      try {
        if (entry.floor) {
          const fwd = await startC(
            tools[entry.floor],
            ['--peer', `127.0.0.1:${echo.port}`, '--max-ms', String(30 * 60_000)],
            SERVER_CORE,
          );
          running.push({ entry, fwd, pid: fwd.pid, port: fwd.port });
        } else {
          const spec = entry.spec!;
          const na = spec.available();
          if (na) throw new Error(na);
          const dir = path.join(tmp, `pinned-${entry.key}`);
          mkdirSync(dir, { recursive: true });
          const handle = await spec.start(await freeUdpPort(), dir);
          pin(handle.pid, SERVER_CORE);
          running.push({ entry, handle, pid: handle.pid, port: handle.port });
        }
        rows.set(entry.key, row);
        log(`pinned: ${entry.name} on core ${SERVER_CORE}`);
      } catch (e) {
        rows.set(entry.key, { ...row, error: `start failed: ${(e as Error).message}` });
        log(`pinned: ${entry.name}: start failed: ${(e as Error).message}`);
      }
    }

    const fixed = new Map<string, BlastResult[]>();
    const sat = new Map<string, BlastResult[]>();
    const nodeEcho = new Map<string, LoadResult[]>();
    const nodePairs = new Map<string, LoadResult[]>();
    const push = <R>(m: Map<string, R[]>, k: string, r: R): void => {
      m.set(k, [...(m.get(k) ?? []), r]);
    };
    const fail = (key: string, phase: string, e: unknown): void => {
      const msg = `${phase}: ${(e as Error).message}`;
      log(`pinned: ${rows.get(key)!.name}: ${msg}`);
      rows.set(key, { ...rows.get(key)!, error: msg });
    };
    const blast = (r: Running, extra: Partial<BlastOptions>): Promise<BlastResult> =>
      runBlast(tools.turnBlast, {
        server: r.port,
        peer: echo!.port,
        raw: !!r.entry.floor,
        rawChannel: r.entry.floor === 'fwdMmsgCd',
        flows: cfg.flows,
        payload: cfg.payload,
        warmupMs: cfg.warmupMs,
        durationMs: cfg.durationMs,
        cpuPids: [r.pid],
        peerPid: echo!.pid,
        cpus: GENERATOR_CORE,
        ...extra,
      }).then(blastResult);
    const line = (b: BlastResult): string =>
      `${(b.relayedPerSec / 1000).toFixed(1)}k pkt/s, ${b.cpuUsPerPkt.toFixed(2)} µs/pkt, server ${b.serverCores.toFixed(2)} cores, generator ${b.generatorCores.toFixed(2)}, echo ${b.peerCores.toFixed(2)}, lost ${b.lost}/${b.sent}`;

    for (let round = 0; round < cfg.rounds; round++) {
      for (const r of running) {
        const key = r.entry.key;
        if (rows.get(key)!.error) continue;
        try {
          const f = await blast(r, { rate: cfg.rate });
          push(fixed, key, f);
          log(`pinned: ${r.entry.name}: round ${round + 1}: fixed rate: ${line(f)}`);
          const s = await blast(r, { flows: cfg.satFlows, window: cfg.satWindow });
          push(sat, key, s);
          log(`pinned: ${r.entry.name}: round ${round + 1}: saturation: ${line(s)}`);
          const shape = { clients: cfg.nodeClients, window: cfg.nodeWindow, payload: cfg.payload };
          const timing = { warmupMs: cfg.warmupMs, durationMs: cfg.durationMs };
          // the Node generator's raw mode sends bare payloads: not for the ChannelData floor
          if (r.handle?.mode === 'channel' || (r.entry.floor && r.entry.floor !== 'fwdMmsgCd')) {
            // through the same C echo peer as turn-blast
            const e = r.handle
              ? await runLoad(r.handle, { ...shape, ...timing, topology: 'peer', peerPort: echo!.port })
              : await runRawLoad(r.fwd!, { ...shape, ...timing, topology: 'peer' });
            push(nodeEcho, key, e);
            const p = r.handle
              ? await runLoad(r.handle, { ...shape, ...timing, topology: 'pairs' })
              : await pairsFloor(tools[r.entry.floor!], (fwd) =>
                  runRawLoad(fwd, { ...shape, ...timing, topology: 'pairs' }),
                );
            push(nodePairs, key, p);
            log(
              `pinned: ${r.entry.name}: round ${round + 1}: Node generator: echo peer ${(e.relayedPerSec / 1000).toFixed(1)}k pkt/s @ ${e.cpuUsPerPkt.toFixed(2)} µs, client to client ${(p.relayedPerSec / 1000).toFixed(1)}k pkt/s @ ${p.cpuUsPerPkt.toFixed(2)} µs`,
            );
          }
        } catch (e) {
          fail(key, 'load', e);
        }
      }
    }
    for (const [key, row] of rows) {
      const f = fixed.get(key) ?? [];
      const s = sat.get(key) ?? [];
      const ne = nodeEcho.get(key) ?? [];
      const np = nodePairs.get(key) ?? [];
      rows.set(key, {
        ...row,
        ...(f.length ? { fixedRate: medianRound(f, (x) => x.cpuUsPerPkt) } : {}),
        ...(s.length ? { saturation: medianRound(s, (x) => x.relayedPerSec) } : {}),
        ...(ne.length ? { nodeEcho: medianRound(ne, (x) => x.relayedPerSec) } : {}),
        ...(np.length ? { nodePairs: medianRound(np, (x) => x.relayedPerSec) } : {}),
        rounds: { fixedRate: f, saturation: s, nodeEcho: ne, nodePairs: np },
      });
    }
  } finally {
    await Promise.all(running.map((r) => (r.handle ? r.handle.stop() : r.fwd!.stop())));
    const counts = await echo?.stop();
    if (counts) log(`pinned: echo peer: ${JSON.stringify(counts)}`);
    try {
      pin(process.pid, all);
    } catch (e) {
      log(`pinned: could not release this process to cores ${all}: ${(e as Error).message}`);
    }
  }
  return entries.map((e) => rows.get(e.key)!);
}

/** The pinned phase's rows (bench/pinned.ts). */
export function pinnedMarkdownTable(rows: readonly PinnedRow[]): string {
  const head = [
    'server (pinned to one core)',
    'fixed rate: relayed pkt/s',
    'µs/pkt',
    'server cores',
    'loss',
    'saturation: relayed pkt/s on one core',
    'µs/pkt',
    'server cores',
    'generator + echo cores',
    'loss',
    'RTT p50 / p99 (µs)',
    'Node generator, echo peer: pkt/s @ µs/pkt',
    'Node generator, client to client: pkt/s @ µs/pkt',
  ];
  const loss = (b: BlastResult | undefined): string =>
    b ? `${b.lost}/${b.sent}${b.sendBlocked > 0 ? ` (+${b.sendBlocked} not sent)` : ''}` : 'n/a';
  const node = (l: LoadResult | undefined): string =>
    l ? `${kpps(l.relayedPerSec)} @ ${fmt(l.cpuUsPerPkt, 2)}${l.lost > 0 ? `, lost ${l.lost}` : ''}` : 'n/a';
  const body = rows.map((r) => {
    if (r.error && !r.fixedRate && !r.saturation)
      return [r.name, `not measured: ${r.error}`, ...head.slice(2).map(() => '')];
    const f = r.fixedRate;
    const s = r.saturation;
    return [
      r.error ? `${r.name} (then failed: ${r.error.split('\n')[0]!.slice(0, 120)})` : r.name,
      kpps(f?.relayedPerSec),
      fmt(f?.cpuUsPerPkt, 2),
      fmt(f?.serverCores, 2),
      loss(f),
      kpps(s?.relayedPerSec),
      fmt(s?.cpuUsPerPkt, 2),
      fmt(s?.serverCores, 2),
      s ? `${fmt(s.generatorCores, 2)} + ${fmt(s.peerCores, 2)}` : 'n/a',
      loss(s),
      s ? `${fmt(s.rttP50Us, 0)} / ${fmt(s.rttP99Us, 0)}` : 'n/a',
      node(r.nodeEcho),
      node(r.nodePairs),
    ];
  });
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

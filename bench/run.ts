/**
 * `npm run bench`: our runtime, coturn, pion/turn v2 and node-turn side by side on loopback, in one
 * run. Writes docs/benchmarks/results.md, results.json and chart.svg; prints the targets of issue 5
 * (PASS/FAIL) and the ratios to pion/turn and coturn last.
 *
 * Environment knobs (for development): BENCH_QUICK=1 shortens every phase, BENCH_ONLY=ours,pion
 * selects servers (ours, coturn, pion, node-turn, ours-dgram, the multi-core rows' keys, and for
 * the pinned phase only pion-v4, stunner, fwd-plain, fwd-mmsg, fwd-mmsg-cd), BENCH_NO_WRITE=1 skips writing
 * docs/. BENCH_PINNED=0 skips the pinned phase (issue 29, bench/pinned.ts: every server alone on
 * one core, the C load generator and echo peer of bench/native on the other, the C forwarder
 * floors as reference rows), BENCH_PINNED=only runs nothing else. For example, a short look at
 * the pinned rows of ours, coturn and the floors:
 *   BENCH_QUICK=1 BENCH_NO_WRITE=1 BENCH_PINNED=only BENCH_ONLY=ours,coturn,fwd-plain,fwd-mmsg npm run bench
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RUNTIME_NODE_FLAGS } from '../contract/pod-layout.js';
import type { AllocResult } from './alloc.js';
import { runAllocations, runFlood } from './alloc.js';
import { type LoadResult, runLoad } from './load.js';
import {
  FLOORS,
  type PinnedConfig,
  type PinnedEntry,
  type PinnedRow,
  pinnedMarkdownTable,
  runPinned,
  SERVER_CORE,
} from './pinned.js';
import { ensurePodNode, POD_NODE, POD_NODE_VERSION } from './pod-node.js';
import { machine, openFileLimit, systemBusyMicros, threadCount } from './proc.js';
import {
  type Machine,
  markdownTable,
  median,
  medianRound,
  type ServerResult,
  svgChart,
  type Target,
} from './report.js';
import { describeProbe, probeReusePort } from './reuseport.js';
import {
  coturn,
  freeUdpPort,
  nodeTurn,
  ourRuntimeCommand,
  pion,
  pionV4,
  ROOT,
  type ServerHandle,
  type ServerSpec,
  stunnerd,
  stunnerdGroup,
  stunnerGo,
} from './servers.js';
import {
  evaluatePinnedTargets,
  evaluateTargets,
  multiCoreLines,
  pinnedRatioLines,
  ratioLines,
} from './targets.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const ONLY = process.env['BENCH_ONLY']?.split(',').map((s) => s.trim());
const NO_WRITE = process.env['BENCH_NO_WRITE'] === '1';
const PINNED = process.env['BENCH_PINNED'] ?? '1';

const CFG = {
  payload: 172,
  clients: 10,
  window: 16,
  mcClients: 20,
  mcWindow: 16,
  rounds: QUICK ? 1 : 5,
  mcRounds: QUICK ? 1 : 3,
  warmupMs: QUICK ? 300 : 700,
  /** Unrecorded load per server before the first measurement. */
  serverWarmupMs: QUICK ? 300 : 1000,
  durationMs: QUICK ? 1500 : 3000,
  rtt1Ms: QUICK ? 500 : 700,
  rttRounds: QUICK ? 1 : 5,
  // one client socket per allocation, plus the warm-up's 300: stay inside the fd limit
  allocCount: Math.min(QUICK ? 500 : 4000, Math.floor((openFileLimit() - 500) * 0.8)),
  allocConcurrency: 32,
  allocRounds: QUICK ? 1 : 3,
  releaseWaitMs: 3000,
  floodRequests: QUICK ? 20_000 : 100_000,
  floodSettleMs: 2000,
  pinned: {
    payload: 172,
    flows: 10,
    // packets/s sent: 80k relayed/s, below one core of every server measured so far (pion/turn v2
    // at ~10 µs/pkt would need 0.8 of it), so every row does the same work
    rate: 40_000,
    satFlows: 10,
    satWindow: 32,
    nodeClients: 10,
    nodeWindow: 16,
    warmupMs: QUICK ? 300 : 700,
    durationMs: QUICK ? 1000 : 2000,
    rounds: QUICK ? 1 : 3,
  } satisfies PinnedConfig,
};

/**
 * loadOnly: only the throughput rounds; multiCore: with the multi-core rows' clients and window;
 * pinnedOnly: only in the pinned phase.
 */
const SPECS: {
  key: string;
  spec: ServerSpec;
  loadOnly?: boolean;
  multiCore?: boolean;
  pinnedOnly?: boolean;
}[] = [
  { key: 'ours', spec: stunnerd() },
  { key: 'pion', spec: pion },
  { key: 'coturn', spec: coturn },
  { key: 'node-turn', spec: nodeTurn },
  { key: 'pion-v4', spec: pionV4, pinnedOnly: true },
  { key: 'stunner', spec: stunnerGo, pinnedOnly: true },
  // The same bundle on Node's dgram path: what the batched UDP I/O module (runtime/transport/native) buys.
  {
    key: 'ours-dgram',
    spec: stunnerd({ label: 'ours, dgram path (STUNNERD_NATIVE=off)', env: { STUNNERD_NATIVE: 'off' } }),
    loadOnly: true,
  },
  {
    key: 'ours-node22-t1',
    spec: stunnerd({ label: `ours, Node ${POD_NODE_VERSION}, threads 1`, node: POD_NODE, threads: 1 }),
    loadOnly: true,
    multiCore: true,
  },
  {
    key: 'ours-node22-t2',
    spec: stunnerd({ label: `ours, Node ${POD_NODE_VERSION}, threads 2`, node: POD_NODE, threads: 2 }),
    loadOnly: true,
    multiCore: true,
  },
  // reusePort scaling of the unchanged runtime: two processes on the pods' Node share the listener port
  {
    key: 'ours-node22-2proc',
    spec: stunnerdGroup(2, {
      label: `ours, Node ${POD_NODE_VERSION}, 2 processes, reusePort`,
      node: POD_NODE,
      reusePort: true,
    }),
    loadOnly: true,
    multiCore: true,
  },
];

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Cores kept busy by everything except this process over a short sample (before servers start). */
async function backgroundCores(ms = 1000): Promise<number> {
  const s0 = systemBusyMicros();
  const c0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const c1 = process.cpuUsage(c0);
  return Math.max(0, (systemBusyMicros() - s0 - c1.user - c1.system) / 1000 / ms);
}

function topOthers(): string {
  try {
    return (
      execSync(`ps -eo pid=,pcpu=,comm= --sort=-pcpu`, { encoding: 'utf8' })
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length >= 3 && Number(f[0]) !== process.pid && Number(f[0]) !== process.ppid)
        .filter((f) => Number.parseFloat(f[1]!) >= 5)
        .slice(0, 6)
        .map((f) => `${f[2]} (${f[1]}% avg since start)`)
        .join(', ') || 'none'
    );
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'stunner-bench-'));
  const m = machine();
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const background = await backgroundCores();
  const busyOther = `${background.toFixed(2)} cores busy with other work in a 1 s sample before the run; top: ${topOthers()}`;
  const runtimeHow = SPECS.some((s) => s.key === 'ours' && (!ONLY || ONLY.includes('ours')))
    ? ourRuntimeCommand().how
    : 'not run';
  const chosen = SPECS.filter((s) => !ONLY || ONLY.includes(s.key));
  const selected = PINNED === 'only' ? [] : chosen.filter((s) => !s.pinnedOnly);
  // the pinned phase: the single-process TURN servers that speak ChannelData, then the floors
  const pinnedEntries: PinnedEntry[] =
    PINNED === '0'
      ? []
      : [
          ...chosen
            .filter((s) => PINNED_KEYS.includes(s.key))
            .map((s) => ({ key: s.key, spec: s.spec, name: s.spec.name })),
          ...FLOORS.filter((f) => !ONLY || ONLY.includes(f.key)),
        ];
  const loadOnly = new Set(selected.filter((s) => s.loadOnly).map((s) => s.key));
  const multiCore = new Set(selected.filter((s) => s.multiCore).map((s) => s.key));
  if (selected.some((s) => s.key.includes('node22'))) {
    const why = ensurePodNode();
    if (why) log(`Node ${POD_NODE_VERSION} unavailable: ${why}`);
  }
  /** The throughput load for a server; multi-core rows: more flows, so the kernel's 4-tuple hash
   * spreads them more evenly over the sockets sharing the port, and enough packets in flight to
   * fill two threads. */
  const loadShape = (key: string) => ({
    clients: multiCore.has(key) ? CFG.mcClients : CFG.clients,
    window: multiCore.has(key) ? CFG.mcWindow : CFG.window,
    payload: CFG.payload,
    topology: 'pairs' as const,
  });
  const results = new Map<string, ServerResult>();
  /** Servers that get every phase (not only throughput) and have not failed. */
  const fullyMeasured = (key: string): boolean => !loadOnly.has(key) && !results.get(key)!.error;
  const handles = new Map<string, ServerHandle>();

  try {
    for (const { key, spec } of selected) {
      const why = spec.available();
      if (why) {
        results.set(key, { name: spec.name, mode: spec.mode, error: why });
        log(`${spec.name}: skipped (${why})`);
        continue;
      }
      try {
        // one directory per server: our runtime watches its config file's directory
        const dir = path.join(tmp, key);
        mkdirSync(dir, { recursive: true });
        const h = await spec.start(await freeUdpPort(), dir);
        handles.set(key, h);
        results.set(key, { name: spec.name, mode: spec.mode });
        log(`${spec.name}: pid ${h.pid} on 127.0.0.1:${h.port}`);
      } catch (e) {
        results.set(key, {
          name: spec.name,
          mode: spec.mode,
          error: `start failed: ${(e as Error).message}`,
        });
        log(`${spec.name}: start failed: ${(e as Error).message}`);
      }
    }
    const fail = (key: string, phase: string, e: unknown): void => {
      const msg = `${phase}: ${(e as Error).message}`;
      log(`${results.get(key)!.name}: ${msg}`);
      results.set(key, { ...results.get(key)!, error: msg });
    };

    // 0. Warm-up, not recorded: one short throughput burst per server, so that the RTT rounds see
    // each server in its steady state (a JIT compiles our relay in its first second of load; the
    // Go and C servers are indifferent to it).
    for (const [key, h] of handles) {
      if (!fullyMeasured(key)) continue;
      try {
        await runLoad(h, { ...loadShape(key), warmupMs: 0, durationMs: CFG.serverWarmupMs });
      } catch (e) {
        fail(key, 'warm-up', e);
      }
    }

    // 1. RTT at window 1, one client through a real UDP echo peer; rounds interleaved across servers.
    const rttRounds = new Map<string, LoadResult[]>();
    for (let r = 0; r < CFG.rttRounds; r++) {
      for (const [key, h] of handles) {
        if (!fullyMeasured(key)) continue;
        try {
          const res = await runLoad(h, {
            clients: 1,
            window: 1,
            payload: CFG.payload,
            warmupMs: 200,
            durationMs: CFG.rtt1Ms,
            topology: 'peer',
          });
          rttRounds.set(key, [...(rttRounds.get(key) ?? []), res]);
        } catch (e) {
          fail(key, 'rtt1', e);
        }
      }
    }
    for (const [key, rs] of rttRounds) {
      const p50 = median(rs.map((x) => x.rttP50Us));
      const rtt1 = rs.reduce((b, x) => (Math.abs(x.rttP50Us - p50) < Math.abs(b.rttP50Us - p50) ? x : b));
      results.set(key, { ...results.get(key)!, rtt1 });
      log(
        `${results.get(key)!.name}: window-1 RTT p50 ${rs.map((x) => x.rttP50Us.toFixed(0)).join('/')} µs (median round p99 ${rtt1.rttP99Us.toFixed(0)} µs)`,
      );
    }

    // 2. Throughput: rounds interleaved across servers so that background load hits all alike.
    const rounds = new Map<string, LoadResult[]>();
    for (let r = 0; r < CFG.rounds; r++) {
      for (const [key, h] of handles) {
        if (results.get(key)!.error) continue;
        if (loadOnly.has(key) && r >= CFG.mcRounds) continue;
        try {
          const res = await runLoad(h, {
            ...loadShape(key),
            warmupMs: CFG.warmupMs,
            durationMs: CFG.durationMs,
          });
          rounds.set(key, [...(rounds.get(key) ?? []), res]);
          log(
            `${h.name}: round ${r + 1}: ${(res.relayedPerSec / 1000).toFixed(1)}k pkt/s, ${res.cpuUsPerPkt.toFixed(2)} µs/pkt, server ${res.serverCores.toFixed(2)} cores, generator ${res.generatorCores.toFixed(2)}, other ${res.otherCores.toFixed(2)}, lost ${res.lost}`,
          );
        } catch (e) {
          fail(key, 'load', e);
        }
      }
    }
    for (const [key, rs] of rounds) {
      const pid = handles.get(key)!.pid;
      const group = handles.get(key)!.group;
      const flowSpread = group ? rs.map((x) => x.allocsPerProcess.join('+')).join(', ') : undefined;
      results.set(key, {
        ...results.get(key)!,
        load: medianRound(rs, (r) => r.relayedPerSec),
        rounds: rs,
        osThreads: threadCount(pid),
        ...(flowSpread ? { flowSpread } : {}),
      });
    }

    // 3. Allocation rate, RSS per allocation, descriptors after Refresh(0); rounds interleaved
    // across servers. RSS and descriptors count from the first round (fresh memory); the rate is
    // the median over the rounds, so that a JIT still warming up in the first one does not decide it.
    // A server that kept its allocations after Refresh(0) (node-turn) is measured once: the next
    // rounds would pile 4000 more on top of them.
    const allocRounds = new Map<string, AllocResult[]>();
    for (let r = 0; r < CFG.allocRounds; r++) {
      for (const [key, h] of handles) {
        if (!fullyMeasured(key)) continue;
        const prev = allocRounds.get(key)?.at(-1);
        if (prev && !Number.isFinite(prev.fdReleaseMs)) continue;
        try {
          const alloc = await runAllocations(h, {
            count: CFG.allocCount,
            concurrency: CFG.allocConcurrency,
            releaseWaitMs: CFG.releaseWaitMs,
          });
          allocRounds.set(key, [...(allocRounds.get(key) ?? []), alloc]);
          log(
            `${h.name}: allocation round ${r + 1}: ${alloc.allocsPerSec.toFixed(0)} allocs/s, ${alloc.cpuUsPerAlloc.toFixed(0)} µs server CPU/alloc (server ${alloc.serverCores.toFixed(2)} cores, generator ${alloc.generatorCores.toFixed(2)}), ${(alloc.rssPerAllocBytes / 1024).toFixed(1)} KiB RSS/alloc, fds ${alloc.fdBaseline}->${alloc.fdWithAllocations}->${alloc.fdAfter} (${alloc.fdReleaseMs.toFixed(0)} ms), ${alloc.retransmissions} retransmissions${alloc.failures ? `, ${alloc.failures} failures: ${alloc.firstError}` : ''}`,
          );
        } catch (e) {
          fail(key, 'alloc', e);
        }
      }
    }
    for (const [key, rs] of allocRounds)
      results.set(key, { ...results.get(key)!, alloc: rs[0], allocRounds: rs });

    // 4. Unauthenticated flood against our runtime.
    const ours = handles.get('ours');
    if (ours) {
      try {
        const flood = await runFlood(ours, CFG.floodRequests, CFG.floodSettleMs);
        results.set('ours', { ...results.get('ours')!, flood });
        log(
          `${ours.name}: ${flood.requests} unauthenticated requests (${flood.answered} answered) from ${flood.sources} ports: RSS ${(flood.rssBeforeBytes / 2 ** 20).toFixed(1)} -> ${(flood.rssAfterBytes / 2 ** 20).toFixed(1)} MiB, fds ${flood.fdBefore} -> ${flood.fdAfter}`,
        );
      } catch (e) {
        fail('ours', 'flood', e);
      }
    }
  } finally {
    await Promise.all([...handles.values()].map((h) => h.stop()));
  }

  // 5. Pinned (issue 29): fresh instances, each server alone on one core, the C generator on the other.
  let pinned: PinnedRow[] = [];
  try {
    if (pinnedEntries.length > 0) {
      log(`pinned phase: ${pinnedEntries.map((e) => e.key).join(', ')}`);
      pinned = await runPinned(pinnedEntries, CFG.pinned, tmp, m.cores, log).catch((e: unknown) => {
        log(`pinned phase failed: ${(e as Error).message}`);
        return pinnedEntries.map((x) => ({
          key: x.key,
          name: x.name,
          floor: !!x.floor,
          error: `pinned phase failed: ${(e as Error).message}`,
        }));
      });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const mach: Machine = {
    cores: m.cores,
    cpuModel: m.cpuModel,
    node: process.version,
    date: new Date().toISOString(),
    kernel: os.release(),
    loadBefore,
    loadAfter: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    busyOther,
    background,
    runtimeHow,
  };
  const ordered = selected.map((s) => results.get(s.key)!).filter(Boolean);
  const byKey = (k: string): ServerResult | undefined => results.get(k);
  const targets = evaluateTargets(byKey('ours'), byKey('pion'), byKey('coturn'), CFG);
  const probes = [process.execPath, POD_NODE]
    .filter((n) => existsSync(n))
    .map((n) => describeProbe(probeReusePort(n)));
  const multi = [
    ...probes.map((p) => `reusePort probe: ${p}`),
    ...multiCoreLines(byKey('ours-node22-t1'), byKey('ours-node22-t2'), byKey('ours-node22-2proc')),
  ];
  const ratios = ratioLines(byKey('ours'), byKey('pion'), byKey('coturn'));
  const pinnedTargets = evaluatePinnedTargets(pinned, CFG.pinned);
  const pinnedRatios = pinnedRatioLines(pinned);
  const elapsed = (Date.now() - started) / 1000;

  const table = markdownTable(ordered);
  const pinnedMd = renderPinned(pinned, pinnedTargets, pinnedRatios);
  const md = renderMarkdown(mach, table, targets, multi, ratios, ordered, elapsed, pinnedMd);
  if (!NO_WRITE) {
    const dir = path.join(ROOT, 'docs/benchmarks');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'results.md'), md);
    writeFileSync(
      path.join(dir, 'results.json'),
      `${JSON.stringify({ machine: mach, config: CFG, results: ordered, targets, pinned, pinnedTargets }, null, 2)}\n`,
    );
    writeFileSync(
      path.join(dir, 'chart.svg'),
      svgChart(
        ordered,
        `${m.cores} cores, ${m.cpuModel}, Node ${process.version}, ${mach.date.slice(0, 10)}`,
        CFG,
      ),
    );
  }

  if (ordered.length > 0) {
    console.log(table);
    console.log('');
  }
  console.log(
    `Machine: ${m.cores} cores, ${m.cpuModel}, Node ${process.version}; load ${loadBefore} -> ${mach.loadAfter}; ${busyOther}`,
  );
  if (ordered.length > 0) {
    console.log('');
    for (const t of targets)
      console.log(`${t.pass === undefined ? 'N/A ' : t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.detail}`);
  }
  if (pinned.length > 0) {
    console.log('');
    console.log(pinnedMarkdownTable(pinned));
    console.log('');
    for (const t of pinnedTargets)
      console.log(`${t.pass === undefined ? 'N/A ' : t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.detail}`);
    for (const r of pinnedRatios) console.log(r);
  }
  console.log('');
  console.log(
    `Finished in ${elapsed.toFixed(0)} s.${NO_WRITE ? '' : ' Wrote docs/benchmarks/results.md, results.json, chart.svg.'}`,
  );
  console.log('');
  if (ordered.length > 0) for (const r of [...multi, ...ratios]) console.log(r);
}

/** Servers the pinned phase measures (one process each, ChannelData), besides the floors. */
const PINNED_KEYS = ['ours', 'ours-dgram', 'coturn', 'pion', 'pion-v4', 'stunner'];

function renderPinned(
  rows: readonly PinnedRow[],
  targets: readonly Target[],
  ratios: readonly string[],
): string {
  if (rows.length === 0) return '';
  const c = CFG.pinned;
  const spread = rows
    .filter((r) => (r.rounds?.saturation.length ?? 0) > 1)
    .map(
      (r) =>
        `- ${r.name}: fixed rate ${r.rounds!.fixedRate.map((x) => x.cpuUsPerPkt.toFixed(2)).join('/')} µs; saturation ${r.rounds!.saturation.map((x) => `${(x.relayedPerSec / 1000).toFixed(1)}k @ ${x.cpuUsPerPkt.toFixed(2)} µs`).join(', ')}`,
    );
  return `## Pinned to one core (issue 29)

Each server alone on core ${SERVER_CORE}, the load generator and the echo peer on the other.

${pinnedMarkdownTable(rows)}

| result | target | measured |
|---|---|---|
${targets.map((t) => `| ${t.pass === undefined ? 'N/A' : t.pass ? 'PASS' : 'FAIL'} | ${t.name} | ${t.detail} |`).join('\n')}

${ratios.map((r) => `- ${r}`).join('\n')}

How: fresh instances of the servers, each pinned (all threads) to one core with \`taskset\`; bench/native's C programs on the other: \`turn-blast\` (Allocate with the 401 nonce/realm exchange, CreatePermission and ChannelBind per flow, then ChannelData with \`sendmmsg\`, echoes received with \`recvmmsg\`) and \`udp-echo\` (the peer, \`recvmmsg\`/\`sendmmsg\`). The C forwarder floors (\`fwd-plain\`: \`recvfrom\`/\`sendto\`; \`fwd-mmsg\`: \`recvmmsg\`/\`sendmmsg\`) do a relay's two legs with no TURN work, one relay socket per client flow, and get \`turn-blast --raw\`: the same ${c.payload}-byte payloads without the 4-byte ChannelData header. A third, reference row with no target (\`fwd-mmsg-cd\`, driven by \`turn-blast --raw-channel\`) adds a relay's per-packet TURN work in C: the ChannelData header checked and stripped, the channel looked up in the flow's bindings, the header put back on the return leg. Server CPU (utime+stime from \`/proc\`) is read by turn-blast at the edges of its measured window; a relayed packet is one crossing of the server, and every echo that came back crossed it twice.
- fixed rate: ${c.flows} flows, ${c.rate / 1000}k packets/s sent (${(2 * c.rate) / 1000}k relayed/s), open loop: the same work for every row.
- saturation: ${c.satFlows} flows × ${c.satWindow} packets in flight, closed loop: the server's core is the bottleneck; pkt/s is its one-core capacity.
- Node echo peer / client to client: the bench's own Node generator at its load (${c.nodeClients} clients × window ${c.nodeWindow}), through the same C echo peer and between paired clients; the floors get its raw mode (bare payloads), and for client to client a forwarder of their own started with \`--pairs\` (each relay socket sends to its partner's).
- ${c.rounds} round(s) of ${c.durationMs} ms after ${c.warmupMs} ms of warm-up, interleaved across servers; the median round is shown (fixed rate: by µs/pkt, the others by pkt/s).
${spread.join('\n')}

`;
}

function renderMarkdown(
  mach: Machine,
  table: string,
  targets: readonly Target[],
  multi: readonly string[],
  ratios: readonly string[],
  results: readonly ServerResult[],
  elapsed: number,
  pinnedMd: string,
): string {
  const spread = results
    .filter((r) => r.rounds && r.rounds.length > 1)
    .map(
      (r) =>
        `- ${r.name}: ${r.rounds!.map((x) => `${(x.relayedPerSec / 1000).toFixed(1)}k pkt/s @ ${x.cpuUsPerPkt.toFixed(2)} µs`).join(', ')}`,
    );
  const flood = results.find((r) => r.flood)?.flood;
  const others = results.flatMap((r) => (r.rounds ?? []).map((x) => x.otherCores));
  const otherMedian = others.length ? median(others) : 0;
  const concurrent =
    mach.background > 0.2 || otherMedian > 0.2
      ? `\n**Other work was running concurrently on this machine** (${mach.background.toFixed(2)} cores busy before the run; a median of ${otherMedian.toFixed(2)} cores besides the servers and the load generator during the throughput rounds, see "other cores"). Absolute figures are depressed and noisy; compare servers within this run.\n`
      : '';
  return `# Benchmark results

Generated by \`npm run bench\` (bench/run.ts) on ${mach.date} in ${elapsed.toFixed(0)} s${QUICK ? ' in QUICK mode (short phases; for development only)' : ''}. Do not edit by hand.
${concurrent}
![chart](chart.svg)

${table}

## Targets (issue 5)

| result | target | measured |
|---|---|---|
${targets.map((t) => `| ${t.pass === undefined ? 'N/A' : t.pass ? 'PASS' : 'FAIL'} | ${t.name} | ${t.detail} |`).join('\n')}

${pinnedMd}## Multi-core

${multi.map((r) => `- ${r}`).join('\n') || '- not measured'}

## Ratios (ours vs pion/turn and coturn, same run)

${ratios.map((r) => `- ${r}`).join('\n')}

## Machine

- ${mach.cores} cores, ${mach.cpuModel}, Linux ${mach.kernel}
- Node ${mach.node} (load generator and our runtime); our runtime ran as: ${mach.runtimeHow}
- Load average before / after: ${mach.loadBefore} / ${mach.loadAfter}
- Background: ${mach.busyOther}

## Method

- Every server runs as its own process on 127.0.0.1; CPU is utime+stime of that process (all
  threads) from \`/proc/<pid>/stat\`, divided by the packets it relayed in the same interval.
  Our runtime runs with the gateway pod's Node flags (\`${RUNTIME_NODE_FLAGS.join(' ')}\`: a
  fixed-size V8 young generation, see contract/pod-layout.ts).
  A relayed packet is one datagram forwarded in one direction (one receive, one send in the server).
- Throughput: ${CFG.clients} clients, window ${CFG.window} each, ${CFG.payload}-byte payloads, closed loop. Clients are paired and
  relay to each other's relay address (ChannelData both ways; node-turn only does Send/Data
  indications). Every datagram the generator handles crossed the server twice, and the generator
  echoes ChannelData through the runtime's batched UDP module (recvmmsg, one sendmsg per echo; its
  STUN encoding stays its own), which keeps it off the critical path and leaves the second core's
  remainder to the server. Rounds are interleaved across servers and the median round is
  reported; all rounds:
${spread.join('\n') || '  (one round)'}
- Multi-core rows ("Node ${POD_NODE_VERSION}"): our runtime under the gateway pods' Node.js release (npm package \`node@${POD_NODE_VERSION}\`) with
  \`admin.threads\` 1 and 2, and two processes of the unchanged runtime sharing the listener port
  through SO_REUSEPORT (a preload sets dgram's reusePort for the listener socket; the kernel then
  hashes each client flow to one process, as it would to reusePort worker threads). These rows use
  ${CFG.mcClients} clients with window ${CFG.mcWindow} (more flows to spread, and twice the packets in flight of
  the main rows, enough to keep two relay threads busy). On ${mach.cores} cores the load generator
  needs about 0.6 of one, so a second relay thread can add at most the rest of the second core:
  these rows show whether the threads share the load and take that rest, not the scaling a
  larger machine would show.
- "other cores": CPU the rest of the machine used meanwhile (other processes, uncharged softirq).
- "generator cores" is the CPU of the load generator itself; if it approaches 1.0 while the server
  stays below 1.0, the throughput figure is generator-bound, not server-bound.
- Latency under load is one-way client -> server -> server -> client (two relay crossings, like an
  echo RTT), stamped with the same clock.
- RTT at window 1: one client, one packet in flight, through a UDP echo peer (client -> server ->
  peer -> server -> client); ${CFG.rttRounds} rounds of ${CFG.rtt1Ms} ms interleaved across servers, the
  round with the median p50 is reported. Before them every server gets ${CFG.serverWarmupMs} ms of
  unrecorded throughput load, so that they run in their steady state (our relay's JIT compiles
  in its first second of load).
- Allocations: ${CFG.allocCount} fresh client sockets, ${CFG.allocConcurrency} in parallel, each doing unauthenticated Allocate ->
  401 -> authenticated Allocate, after 300 warm-up allocations; ${CFG.allocRounds} rounds interleaved across servers.
  The rate is the round with the median rate, and the target ratio the median of per-round ratios
  (our first round still runs partly in V8's baseline tiers). RSS and descriptors are from the
  first round, on fresh memory. RSS per allocation = RSS growth over the second half of them / their
  number (the marginal cost: one-time growth such as heap pages sizing up to the load falls in the
  first half; results.json also has the figure over all of them). Then Refresh(0) on
  all of them and poll \`/proc/<pid>/fd\` until it is back to the baseline.
${
  flood
    ? `- Flood (our runtime): ${flood.requests} unauthenticated Allocate requests (${flood.requestBytes} B each) from ${flood.sources} source ports; ${flood.answered} answered, largest answer ${flood.maxAnswerBytes} B. RSS ${(flood.rssBeforeBytes / 2 ** 20).toFixed(1)} MiB before, ${(flood.rssHalfwayBytes / 2 ** 20).toFixed(1)} MiB halfway and ${(flood.rssAfterBytes / 2 ** 20).toFixed(1)} MiB at the end (each after ${CFG.floodSettleMs / 1000} s idle); fds ${flood.fdBefore} -> ${flood.fdAfter}. The first half may grow the V8 heap to its working size; the target is that the second half adds nothing lasting (≤ 2 MiB; retained per-request state would add ≥ 4.8 MiB).`
    : '- Flood: not run.'
}
- Loopback on a shared ${mach.cores}-core machine: absolute numbers move with background load; the
  ratios within one run are the meaningful part.
`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

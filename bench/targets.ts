/** The targets of issue 5, checked against one run's measurements. */
import type { AllocResult } from './alloc.js';
import type { LoadResult } from './load.js';
import type { BlastResult, PinnedRow } from './pinned.js';
import { median, type ServerResult, type Target } from './report.js';

const MiB = 2 ** 20;
/**
 * "No lasting memory": the second half of the flood must not grow RSS by more than this. The first
 * half may grow the V8 heap to its working size (that is sizing, not retention); retained
 * per-request state (a Map entry, a nonce record: >= 100 B each) would grow RSS linearly, by >= 4.8
 * MiB over the second 50k requests.
 */
export const FLOOD_RSS_SLACK = 2 * MiB;

function ok(v: number | undefined): v is number {
  return v !== undefined && Number.isFinite(v);
}

/**
 * `pick` of `a` relative to `b` over rounds: the median of per-round ratios (round r of both
 * servers ran seconds apart, under the same background load), or the plain ratio of `single`
 * with one round.
 */
function roundRatio<R>(
  ra: readonly R[],
  rb: readonly R[],
  pick: (x: R) => number,
  single: [number | undefined, number | undefined],
): number | undefined {
  const n = Math.min(ra.length, rb.length);
  if (n > 1) return median(Array.from({ length: n }, (_, i) => pick(ra[i]!) / pick(rb[i]!)));
  const [x, y] = single;
  return ok(x) && ok(y) ? x / y : undefined;
}

/** CPU per packet of `a` relative to `b` (throughput rounds). */
export function cpuRatio(a: ServerResult | undefined, b: ServerResult | undefined): number | undefined {
  return roundRatio<LoadResult>(a?.rounds ?? [], b?.rounds ?? [], (x) => x.cpuUsPerPkt, [
    a?.load?.cpuUsPerPkt,
    b?.load?.cpuUsPerPkt,
  ]);
}

/** Relayed packets/s of `a` relative to `b` (throughput rounds). */
function rateRatio(a: ServerResult | undefined, b: ServerResult | undefined): number | undefined {
  return roundRatio<LoadResult>(a?.rounds ?? [], b?.rounds ?? [], (x) => x.relayedPerSec, [
    a?.load?.relayedPerSec,
    b?.load?.relayedPerSec,
  ]);
}

/** A per-round ratio for the report, with each round's own ratio. */
function roundsRatioText(a: ServerResult | undefined, b: ServerResult | undefined): string {
  const r = rateRatio(a, b);
  if (!ok(r)) return 'n/a';
  const ra = a?.rounds ?? [];
  const rb = b?.rounds ?? [];
  const each = ra.slice(0, rb.length).map((x, i) => (x.relayedPerSec / rb[i]!.relayedPerSec).toFixed(2));
  return `${r.toFixed(2)}× (median of per-round ratios ${each.join('/')})`;
}

/** Allocation rate of `a` relative to `b` (allocation rounds). */
export function allocRatio(a: ServerResult | undefined, b: ServerResult | undefined): number | undefined {
  return roundRatio<AllocResult>(a?.allocRounds ?? [], b?.allocRounds ?? [], (x) => x.allocsPerSec, [
    a?.alloc?.allocsPerSec,
    b?.alloc?.allocsPerSec,
  ]);
}

function roundsOf(r: ServerResult | undefined): string {
  return (r?.rounds ?? []).map((x) => x.cpuUsPerPkt.toFixed(2)).join('/');
}

export function evaluateTargets(
  ours: ServerResult | undefined,
  pion: ServerResult | undefined,
  coturn: ServerResult | undefined,
  cfg: { readonly payload: number; readonly floodRequests: number },
): Target[] {
  const t: Target[] = [];
  const rp = cpuRatio(ours, pion);
  const rc = cpuRatio(ours, coturn);
  t.push({
    name: 'ChannelData CPU/pkt ≤ 1.0× pion/turn',
    pass: ok(rp) ? rp <= 1.0 : undefined,
    detail: ok(rp)
      ? `${rp.toFixed(2)}× (median of per-round ratios; µs per round: ours ${roundsOf(ours)}, pion ${roundsOf(pion)})`
      : 'not measured',
  });
  t.push({
    name: 'ChannelData CPU/pkt ≤ 1.5× coturn',
    pass: ok(rc) ? rc <= 1.5 : undefined,
    detail: ok(rc)
      ? `${rc.toFixed(2)}× (median of per-round ratios; µs per round: ours ${roundsOf(ours)}, coturn ${roundsOf(coturn)})`
      : 'not measured',
  });
  // Capacity: the best round (background load only ever lowers it), with no loss in any round.
  const rounds = ours?.rounds ?? (ours?.load ? [ours.load] : []);
  const best = rounds.reduce<(typeof rounds)[number] | undefined>(
    (b, x) => (b === undefined || x.relayedPerSec > b.relayedPerSec ? x : b),
    undefined,
  );
  const lostAll = rounds.reduce((n, x) => n + x.lost, 0);
  t.push({
    name: `≥ 120k relayed pkt/s on one core at ${cfg.payload} B with 0 loss`,
    pass: best ? best.relayedPerSec >= 120_000 && lostAll === 0 : undefined,
    detail: best
      ? `best round ${(best.relayedPerSec / 1000).toFixed(1)}k pkt/s (rounds: ${rounds.map((x) => `${(x.relayedPerSec / 1000).toFixed(1)}k`).join('/')}), ${lostAll} lost, server ${best.serverCores.toFixed(2)} cores, generator ${best.generatorCores.toFixed(2)}, other ${best.otherCores.toFixed(2)}` +
        (best.relayedPerSec < 120_000 && best.serverCores < 0.9
          ? ' (server not saturated: the machine was busy)'
          : best.relayedPerSec < 120_000
            ? ' (server saturated its core)'
            : '')
      : 'not measured',
  });
  const r = ours?.rtt1?.rttP50Us;
  const pr = pion?.rtt1?.rttP50Us;
  t.push({
    name: 'RTT p50 at window 1 within 20 µs of pion/turn',
    pass: ok(r) && ok(pr) ? r - pr <= 20 : undefined,
    detail:
      ok(r) && ok(pr)
        ? `${r.toFixed(0)} vs ${pr.toFixed(0)} µs (${r - pr >= 0 ? '+' : ''}${(r - pr).toFixed(0)} µs)`
        : 'not measured',
  });
  const ra = allocRatio(ours, coturn);
  const allocRounds = (r: ServerResult | undefined): string =>
    (r?.allocRounds ?? []).map((x) => x.allocsPerSec.toFixed(0)).join('/');
  t.push({
    name: 'Allocation rate ≥ 0.8× coturn',
    pass: ok(ra) ? ra >= 0.8 : undefined,
    detail: ok(ra)
      ? `${ra.toFixed(2)}× (median of per-round ratios; allocs/s per round: ours ${allocRounds(ours)}, coturn ${allocRounds(coturn)})`
      : 'not measured',
  });
  const rss = ours?.alloc?.rssPerAllocBytes;
  t.push({
    name: '≤ 8 KB RSS per allocation',
    pass: ok(rss) ? rss <= 8192 : undefined,
    detail: ok(rss)
      ? `${(rss / 1024).toFixed(2)} KiB per allocation over the second half of ${ours!.alloc!.allocations} allocations (over all of them, with the one-time heap growth: ${(ours!.alloc!.rssPerAllocAllBytes / 1024).toFixed(2)} KiB)`
      : 'not measured',
  });
  const al = ours?.alloc;
  t.push({
    name: 'fds back to baseline within 1 s of Refresh(0)',
    pass: al ? al.allocations > 0 && ok(al.fdReleaseMs) && al.fdReleaseMs <= 1000 : undefined,
    detail: al
      ? `${al.fdBaseline} -> ${al.fdWithAllocations} -> ${al.fdAfter}${ok(al.fdReleaseMs) ? ` after ${al.fdReleaseMs.toFixed(0)} ms` : ' (not back)'}`
      : 'not measured',
  });
  const f = ours?.flood;
  t.push({
    name: `${cfg.floodRequests / 1000}k unauthenticated requests add no lasting memory`,
    pass: f
      ? f.rssAfterBytes - f.rssHalfwayBytes <= FLOOD_RSS_SLACK && f.fdAfter <= f.fdBefore && f.answered > 0
      : undefined,
    detail: f
      ? `RSS ${(f.rssBeforeBytes / MiB).toFixed(1)} -> ${(f.rssHalfwayBytes / MiB).toFixed(1)} (halfway) -> ${(f.rssAfterBytes / MiB).toFixed(1)} MiB (second half: ${((f.rssAfterBytes - f.rssHalfwayBytes) / MiB).toFixed(1)} MiB, limit +${FLOOD_RSS_SLACK / MiB} MiB), fds ${f.fdBefore} -> ${f.fdAfter}, ${f.answered}/${f.requests} answered, largest answer ${f.maxAnswerBytes} B for a ${f.requestBytes} B request`
      : 'not measured',
  });
  return t;
}

function times(v: number | undefined): string {
  return ok(v) ? `${v.toFixed(2)}×` : 'n/a';
}

function ratio(a: number | undefined, b: number | undefined): string {
  return ok(a) && ok(b) && b !== 0 ? times(a / b) : 'n/a';
}

export function ratioLines(
  ours: ServerResult | undefined,
  pion: ServerResult | undefined,
  coturn: ServerResult | undefined,
): string[] {
  const lines: string[] = [];
  for (const [name, other] of [
    ['pion/turn', pion],
    ['coturn', coturn],
  ] as const) {
    const dRtt =
      ok(ours?.rtt1?.rttP50Us) && ok(other?.rtt1?.rttP50Us)
        ? `${(ours!.rtt1!.rttP50Us - other!.rtt1!.rttP50Us).toFixed(0)} µs`
        : 'n/a';
    lines.push(
      `ours / ${name}: CPU per packet ${times(cpuRatio(ours, other))}, ` +
        `packets/s ${ratio(ours?.load?.relayedPerSec, other?.load?.relayedPerSec)}, ` +
        `window-1 RTT p50 difference ${dRtt}, ` +
        `allocations/s ${times(allocRatio(ours, other))}, ` +
        `RSS per allocation ${ratio(ours?.alloc?.rssPerAllocBytes, other?.alloc?.rssPerAllocBytes)}`,
    );
  }
  return lines;
}

/**
 * Scaling of our runtime on the pods' Node: admin.threads 2 vs 1, and two processes sharing the listener
 * port with reusePort vs one process (same run).
 */
export function multiCoreLines(
  t1: ServerResult | undefined,
  t2: ServerResult | undefined,
  procs: ServerResult | undefined,
): string[] {
  const lines: string[] = [];
  const a = t1?.load;
  const b = t2?.load;
  if (a && b) {
    lines.push(
      `admin.threads 2 vs 1: packets/s ${roundsRatioText(t2, t1)}, ` +
        `median rounds: server cores ${a.serverCores.toFixed(2)} -> ${b.serverCores.toFixed(2)}, CPU per packet ${ratio(b.cpuUsPerPkt, a.cpuUsPerPkt)}, ` +
        `OS threads ${t1?.osThreads ?? '?'} -> ${t2?.osThreads ?? '?'}` +
        (t1?.osThreads === t2?.osThreads
          ? ' (no extra threads: relay threads did not start, see the runtime log)'
          : '') +
        `, busiest threads (cores): ${b.busiestThreads.map((x) => x.toFixed(2)).join(' + ')} vs ${a.busiestThreads.map((x) => x.toFixed(2)).join(' + ')}`,
    );
  }
  const d = procs?.load;
  if (a && d) {
    lines.push(
      `2 processes sharing the port with reusePort vs 1 process: packets/s ${roundsRatioText(procs, t1)}, ` +
        `median rounds: server cores ${a.serverCores.toFixed(2)} -> ${d.serverCores.toFixed(2)}, generator cores ${a.generatorCores.toFixed(2)} -> ${d.generatorCores.toFixed(2)}, ` +
        `CPU per packet ${ratio(d.cpuUsPerPkt, a.cpuUsPerPkt)}${procs?.flowSpread ? `, allocations per process ${procs.flowSpread}` : ''}` +
        `, busiest threads (cores): ${d.busiestThreads.map((x) => x.toFixed(2)).join(' + ')}`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------- issue 29: the pinned phase

/** The median over rounds of a ratio a/b, round by round (rounds ran seconds apart). */
function pinnedRatio<R>(
  a: readonly R[] | undefined,
  b: readonly R[] | undefined,
  pick: (r: R) => number,
): number | undefined {
  const n = Math.min(a?.length ?? 0, b?.length ?? 0);
  if (n === 0) return undefined;
  const xs = Array.from({ length: n }, (_, i) => pick(a![i]!) / pick(b![i]!)).filter(Number.isFinite);
  return xs.length ? median(xs) : undefined;
}

/** A row by key; one that failed in a later round still counts with the rounds it measured. */
function row(rows: readonly PinnedRow[], key: string): PinnedRow | undefined {
  return rows.find((r) => r.key === key && r.rounds);
}

type Scenario = 'fixedRate' | 'saturation' | 'nodeEcho' | 'nodePairs';

/** CPU per packet of `a` relative to `b` in one scenario: the median of per-round ratios. */
export function pinnedCpuRatio(
  a: PinnedRow | undefined,
  b: PinnedRow | undefined,
  s: Scenario,
): number | undefined {
  const ra = a?.rounds?.[s] as readonly { cpuUsPerPkt: number }[] | undefined;
  const rb = b?.rounds?.[s] as readonly { cpuUsPerPkt: number }[] | undefined;
  return pinnedRatio(ra, rb, (x) => x.cpuUsPerPkt);
}

function pinnedRateRatio(a: PinnedRow | undefined, b: PinnedRow | undefined): number | undefined {
  return pinnedRatio(a?.rounds?.saturation, b?.rounds?.saturation, (x) => x.relayedPerSec);
}

function fmtUs(v: number | undefined): string {
  return ok(v) ? v.toFixed(2) : 'n/a';
}

const SCENARIO_TEXT: Record<Scenario, string> = {
  fixedRate: 'fixed rate, C generator',
  saturation: 'saturation',
  nodeEcho: 'Node generator, echo peer',
  nodePairs: 'Node generator, client to client',
};

/** The targets of issue 29 over the pinned rows; `pass` undefined where a row is missing. */
export function evaluatePinnedTargets(
  rows: readonly PinnedRow[],
  cfg: { readonly payload: number },
): Target[] {
  if (rows.length === 0) return [];
  const ours = row(rows, 'ours');
  const plain = row(rows, 'fwd-plain');
  const mmsg = row(rows, 'fwd-mmsg');
  const pion = row(rows, 'pion');
  const t: Target[] = [];
  const scen: Scenario[] = ['fixedRate', 'nodeEcho', 'nodePairs'];
  const vsFloor = scen.map((s) => [s, pinnedCpuRatio(ours, plain, s)] as const).filter(([, v]) => ok(v));
  t.push({
    name: "bench's load: CPU/pkt ≤ 1.1× the C plain floor (every scenario)",
    pass: vsFloor.length === scen.length ? vsFloor.every(([, v]) => v! <= 1.1) : undefined,
    detail:
      vsFloor.length > 0
        ? vsFloor.map(([s, v]) => `${SCENARIO_TEXT[s]} ${v!.toFixed(2)}×`).join(', ') +
          ` (µs/pkt ours / floor: ${scen
            .map((s) => `${fmtUs(ours?.[s]?.cpuUsPerPkt)} / ${fmtUs(plain?.[s]?.cpuUsPerPkt)}`)
            .join(', ')})`
        : 'not measured',
  });
  const vsPion = scen.map((s) => [s, pinnedCpuRatio(ours, pion, s)] as const).filter(([, v]) => ok(v));
  t.push({
    name: "bench's load: CPU/pkt ≤ 0.6× pion/turn (every scenario)",
    pass: vsPion.length === scen.length ? vsPion.every(([, v]) => v! <= 0.6) : undefined,
    detail:
      vsPion.length > 0
        ? vsPion.map(([s, v]) => `${SCENARIO_TEXT[s]} ${v!.toFixed(2)}×`).join(', ')
        : 'not measured',
  });
  const rm = pinnedCpuRatio(ours, mmsg, 'saturation');
  t.push({
    name: 'saturation: CPU/pkt ≤ 1.3× the C mmsg floor',
    pass: ok(rm) ? rm <= 1.3 : undefined,
    detail: ok(rm)
      ? `${rm.toFixed(2)}× (ours ${ours!.saturation!.cpuUsPerPkt.toFixed(2)} µs, floor ${mmsg!.saturation!.cpuUsPerPkt.toFixed(2)} µs)`
      : 'not measured',
  });
  const sat = ours?.rounds?.saturation ?? [];
  const best = sat.reduce<BlastResult | undefined>(
    (b, x) => (!b || x.relayedPerSec > b.relayedPerSec ? x : b),
    undefined,
  );
  const lost = sat.reduce((n, x) => n + x.lost, 0);
  t.push({
    name: `saturation: ≥ 200k relayed pkt/s on one core at ${cfg.payload} B with 0 loss`,
    pass: best ? best.relayedPerSec >= 200_000 && lost === 0 : undefined,
    detail: best
      ? `best round ${(best.relayedPerSec / 1000).toFixed(1)}k pkt/s (rounds: ${sat.map((x) => `${(x.relayedPerSec / 1000).toFixed(1)}k`).join('/')}), ${lost} lost, server ${best.serverCores.toFixed(2)} cores`
      : 'not measured',
  });
  const others = ['coturn', 'pion', 'pion-v4', 'stunner']
    .map((k) => row(rows, k))
    .filter((r): r is PinnedRow => !!r?.saturation);
  const ahead = others.map((o) => [o, pinnedRateRatio(ours, o)] as const);
  const missing = ['coturn', 'pion', 'pion-v4', 'stunner'].filter((k) => !row(rows, k)?.saturation);
  t.push({
    name: "saturation: ahead of coturn, pion/turn (v2, v4) and STUNner's stunnerd",
    // every one of them measured, or N/A: a missing rival is never a pass
    pass: ours?.saturation && missing.length === 0 ? ahead.every(([, v]) => ok(v) && v > 1) : undefined,
    detail:
      ours?.saturation && ahead.length > 0
        ? `pkt/s on one core, ours / theirs: ${ahead.map(([o, v]) => `${o.name} ${times(v)}`).join(', ')}${missing.length ? `; not measured: ${missing.join(', ')}` : ''}`
        : 'not measured',
  });
  return t;
}

/** Ratios of ours (and coturn) to every other pinned row, per scenario. */
export function pinnedRatioLines(rows: readonly PinnedRow[]): string[] {
  const lines: string[] = [];
  for (const [who, a] of [
    ['ours', row(rows, 'ours')],
    ['coturn', row(rows, 'coturn')],
  ] as const) {
    if (!a) continue;
    for (const b of rows) {
      if (b.key === a.key || !b.rounds || b.key === 'ours-dgram' || (who === 'coturn' && !b.floor)) continue;
      const parts = (['fixedRate', 'saturation', 'nodeEcho', 'nodePairs'] as const)
        .map((s) => [s, pinnedCpuRatio(a, b, s)] as const)
        .filter(([, v]) => ok(v))
        .map(([s, v]) => `${SCENARIO_TEXT[s]} ${times(v)}`);
      const rate = pinnedRateRatio(a, b);
      lines.push(
        `${who} / ${b.name}: CPU per packet ${parts.join(', ') || 'n/a'}; saturation pkt/s on one core ${times(rate)}`,
      );
    }
  }
  return lines;
}

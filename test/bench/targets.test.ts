/**
 * The benchmark's verdicts (bench/targets.ts): a target passes or fails on the numbers it is given,
 * ratios are medians of per-round ratios, and a missing measurement is N/A, never a pass.
 */
import { describe, expect, it } from 'vitest';
import type { AllocResult, FloodResult } from '../../bench/alloc.js';
import type { LoadResult } from '../../bench/load.js';
import type { BlastResult, PinnedRow } from '../../bench/pinned.js';
import { allocRateRound, type ServerResult } from '../../bench/report.js';
import { allocRatio, cpuRatio, evaluatePinnedTargets, evaluateTargets } from '../../bench/targets.js';

const CFG = { payload: 172, floodRequests: 100_000 };

function load(cpuUsPerPkt: number, relayedPerSec = 130_000, lost = 0): LoadResult {
  return {
    clients: 10,
    window: 16,
    relayedPerSec,
    cpuUsPerPkt,
    serverCores: 0.98,
    generatorCores: 0.6,
    otherCores: 0.02,
    sent: 100_000,
    lost,
    lossPct: lost / 1000,
    rttP50Us: 300,
    rttP99Us: 900,
    busiestThreads: [0.98],
    allocsPerProcess: [10],
  };
}

function alloc(allocsPerSec: number, rssPerAllocBytes = 4096, fdReleaseMs = 0): AllocResult {
  return {
    allocations: 4000,
    failures: 0,
    retransmissions: 0,
    firstError: undefined,
    allocsPerSec,
    cpuUsPerAlloc: 200,
    serverCores: 0.9,
    generatorCores: 0.7,
    rssPerAllocBytes,
    rssPerAllocAllBytes: rssPerAllocBytes,
    fdBaseline: 21,
    fdWithAllocations: 4021,
    fdAfter: Number.isFinite(fdReleaseMs) ? 21 : 4021,
    fdReleaseMs,
  };
}

function server(
  name: string,
  cpu: number[],
  allocs: number[],
  extra: Partial<ServerResult> = {},
): ServerResult {
  const rounds = cpu.map((c) => load(c));
  const allocRounds = allocs.map((a) => alloc(a));
  return {
    name,
    mode: 'channel',
    rtt1: load(cpu[0]!),
    load: rounds[0],
    rounds,
    alloc: allocRounds[0],
    allocRounds,
    ...extra,
  };
}

/** The flood's measurements, RSS in MiB before, halfway and after. */
function flood(before: number, halfway: number, after: number): FloodResult {
  return {
    requests: 100_000,
    answered: 100_000,
    sources: 1000,
    rssBeforeBytes: before * 2 ** 20,
    rssHalfwayBytes: halfway * 2 ** 20,
    rssAfterBytes: after * 2 ** 20,
    fdBefore: 21,
    fdAfter: 21,
    maxAnswerBytes: 76,
    requestBytes: 36,
  };
}

const verdict = (targets: ReturnType<typeof evaluateTargets>, prefix: string) =>
  targets.find((t) => t.name.startsWith(prefix))?.pass;

describe('bench targets', () => {
  it('ratios are the median of per-round ratios, not the ratio of medians', () => {
    // rate round ratios 1.0, 2.0, 1.8 -> 1.8, where the ratio of the medians would be 1000/1000
    const a = server('a', [5, 20, 9], [1000, 4000, 900]);
    const b = server('b', [10, 10, 10], [1000, 2000, 500]);
    expect(cpuRatio(a, b)).toBeCloseTo(0.9);
    expect(allocRatio(a, b)).toBeCloseTo(1.8);
    // the table's rate is the round with the median rate
    expect(allocRateRound(a)?.allocsPerSec).toBe(1000);
  });

  it('passes every target on good numbers and fails each one on bad ones', () => {
    const pion = server('pion', [11, 11, 11], [4000, 4000, 4000]);
    const coturn = server('coturn', [8, 8, 8], [4000, 4000, 4000]);
    const good = server('ours', [7, 7, 7], [4000, 4000, 4000], {
      flood: flood(100, 101, 101),
    });
    const ok = evaluateTargets(good, pion, coturn, CFG);
    expect(ok.map((t) => t.pass)).toEqual(Array(8).fill(true));

    const bad = server('ours', [12.5, 12.5, 12.5], [3000, 3000, 3000], {
      rounds: [load(12.5, 110_000), load(12.5, 119_000), load(12.5, 150_000, 3)],
      rtt1: { ...load(12.5), rttP50Us: 321 },
      alloc: alloc(3000, 8200, Number.NaN),
      flood: flood(100, 101, 104),
    });
    const t = evaluateTargets(bad, pion, coturn, CFG);
    expect(verdict(t, 'ChannelData CPU/pkt ≤ 1.0× pion')).toBe(false);
    expect(verdict(t, 'ChannelData CPU/pkt ≤ 1.5× coturn')).toBe(false);
    // the best round reaches 150k but lost packets: 0 loss is part of the target
    expect(verdict(t, '≥ 120k relayed pkt/s')).toBe(false);
    expect(verdict(t, 'RTT p50 at window 1')).toBe(false);
    expect(verdict(t, 'Allocation rate')).toBe(false);
    expect(verdict(t, '≤ 8 KB RSS')).toBe(false);
    expect(verdict(t, 'fds back')).toBe(false);
    expect(verdict(t, '100k unauthenticated')).toBe(false);
  });

  it('a server that was not measured makes its targets N/A, never PASS', () => {
    const t = evaluateTargets(undefined, undefined, undefined, CFG);
    expect(t).toHaveLength(8);
    for (const x of t) {
      expect(x.pass).toBeUndefined();
      expect(x.detail).toBe('not measured');
    }
  });
});

describe('issue 29 targets (the pinned phase)', () => {
  const PCFG = { payload: 172 };
  const has = (t: ReturnType<typeof evaluatePinnedTargets>, part: string) =>
    t.find((x) => x.name.includes(part))?.pass;
  const blast = (cpuUsPerPkt: number, relayedPerSec: number, lost = 0): BlastResult => ({
    relayedPerSec,
    cpuUsPerPkt,
    serverCores: 1,
    generatorCores: 0.4,
    peerCores: 0.4,
    sent: 100_000,
    lost,
    lossPct: lost / 1000,
    sendBlocked: 0,
    rttP50Us: 500,
    rttP99Us: 900,
  });
  /** A row with one round per scenario: fixed-rate and saturation µs/pkt, saturation pkt/s, Node µs/pkt. */
  const row = (
    key: string,
    fixed: number,
    sat: number,
    satRate: number,
    node?: number,
    lost = 0,
  ): PinnedRow => {
    const f = blast(fixed, 80_000);
    const s = blast(sat, satRate, lost);
    const n = node === undefined ? [] : [load(node)];
    return {
      key,
      name: key,
      floor: key.startsWith('fwd-'),
      fixedRate: f,
      saturation: s,
      ...(n[0] ? { nodeEcho: n[0], nodePairs: n[0] } : {}),
      rounds: { fixedRate: [f], saturation: [s], nodeEcho: n, nodePairs: n },
    };
  };
  const rivals = [
    row('fwd-plain', 6, 4.4, 225_000, 5.8),
    row('fwd-mmsg', 7, 3.6, 263_000, 6.5),
    row('coturn', 7.5, 5, 190_000, 7.5),
    row('pion', 10.5, 9, 110_000, 10.5),
    row('pion-v4', 10, 8.5, 115_000, 10),
    row('stunner', 12, 11, 90_000, 12),
  ];

  it('passes on numbers inside the targets', () => {
    const t = evaluatePinnedTargets([row('ours', 6.2, 4.5, 220_000, 6), ...rivals], PCFG);
    expect(t.map((x) => x.pass)).toEqual([true, true, true, true, true]);
  });

  it('fails each target on numbers outside it', () => {
    const t = evaluatePinnedTargets([row('ours', 8.3, 5, 180_000, 7, 2), ...rivals], PCFG);
    expect(has(t, "bench's load: CPU/pkt ≤ 1.1× the C plain floor")).toBe(false); // 1.38×
    expect(has(t, '≤ 0.6× pion/turn')).toBe(false); // 0.79×
    expect(has(t, '≤ 1.3× the C mmsg floor')).toBe(false); // 1.39×
    expect(has(t, '≥ 200k relayed pkt/s')).toBe(false); // 180k, and 2 lost
    expect(has(t, 'ahead of coturn')).toBe(false); // 180k < coturn's 190k
  });

  it('a missing floor or rival is N/A, never a pass', () => {
    const ours = row('ours', 6.2, 4.5, 220_000, 6);
    const t = evaluatePinnedTargets(
      [ours, ...rivals.filter((r) => r.key !== 'fwd-plain' && r.key !== 'pion-v4')],
      PCFG,
    );
    expect(has(t, 'the C plain floor')).toBeUndefined();
    expect(has(t, 'ahead of coturn')).toBeUndefined();
    expect(evaluatePinnedTargets([], PCFG)).toEqual([]);
    const failed: PinnedRow = { key: 'ours', name: 'ours', floor: false, error: 'start failed' };
    for (const x of evaluatePinnedTargets([failed, ...rivals], PCFG)) expect(x.pass).toBeUndefined();
  });
});

/**
 * The benchmark's verdicts (bench/targets.ts): a target passes or fails on the numbers it is given,
 * ratios are medians of per-round ratios, and a missing measurement is N/A, never a pass.
 */
import { describe, expect, it } from 'vitest';
import type { AllocResult, FloodResult } from '../../bench/alloc.js';
import type { LoadResult } from '../../bench/load.js';
import { allocRateRound, type ServerResult } from '../../bench/report.js';
import { allocRatio, cpuRatio, evaluateTargets } from '../../bench/targets.js';

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

/**
 * A small coverage-guided mutation fuzzer in plain JavaScript (libFuzzer's loop, without libFuzzer).
 *
 * Coverage comes from Jazzer.js's own Babel instrumentation (fuzz/engine/instrument.ts): every branch
 * of the code under test bumps a byte in a counter array. An input that reaches a new branch, or a
 * branch a new number of times (AFL's hit-count buckets), joins the corpus; the next inputs are
 * mutations of corpus entries, with values the code compared against (Jazzer's compare hooks)
 * as a dictionary. Without counters it degrades to random mutation of the corpus.
 *
 * Every input runs with a clock: an input slower than `slowMs` is a finding (targets must be
 * bounded), as is any exception. The same seed and corpus give the same inputs.
 */

export type FuzzFn = (data: Buffer) => void;

export interface EngineOptions {
  /** PRNG seed: the same seed, corpus and target give the same run. */
  readonly seed: number;
  /** Stop after this many executions (the seeds included). */
  readonly runs: number;
  /** Stop after this much wall time. */
  readonly timeMs: number;
  /** Largest input a mutation may produce. @default 4096 */
  readonly maxLen?: number;
  /** Seed inputs (the committed corpus). */
  readonly corpus: readonly Buffer[];
  /** The instrumented target's counters; without them the run is coverage-free. */
  readonly coverage?: Uint8Array;
  /** Tokens to splice in (grows while running when the compare hooks record values). */
  readonly dictionary?: readonly Buffer[];
  /** An input that takes longer than this is a finding. @default 1000 */
  readonly slowMs?: number;
  /** Called with every input before it runs (a watchdog keeps it to report a hang). */
  readonly onInput?: (input: Buffer) => void;
  /** Called with every input that found new coverage. */
  readonly onNewCoverage?: (input: Buffer) => void;
  /** Called with every finding as it happens. */
  readonly onFinding?: (f: Finding) => void;
  /** Called about once a second. */
  readonly onProgress?: (r: EngineResult) => void;
}

export interface Finding {
  readonly kind: 'crash' | 'slow';
  readonly input: Buffer;
  /** The exception's name and message, or the time taken. */
  readonly message: string;
  readonly stack?: string;
}

export interface EngineResult {
  executions: number;
  /** Inputs kept because they reached new coverage (seeds included). */
  corpusSize: number;
  /** Distinct instrumented branches reached. */
  edges: number;
  findings: Finding[];
  elapsedMs: number;
  slowestMs: number;
}

/** AFL's hit-count buckets: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
const BUCKET = new Uint8Array(256);
for (let i = 1; i < 256; i++) {
  BUCKET[i] =
    i === 1 ? 1 : i === 2 ? 2 : i === 3 ? 4 : i < 8 ? 8 : i < 16 ? 16 : i < 32 ? 32 : i < 128 ? 64 : 128;
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x40, 0x3f, 0x20, 0x10];
const INTERESTING_16 = [
  0, 1, 3, 4, 8, 0x14, 0xff, 0x100, 0x3fff, 0x4000, 0x4fff, 0x7fff, 0x8000, 0xfffc, 0xffff,
];
const INTERESTING_32 = [0, 1, 0x2112a442, 0x7fffffff, 0x80000000, 0xffffffff, 0x5354554e];

/** mulberry32, as in test/helpers/prng.ts (fuzz/ stands on its own). */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** One to eight stacked mutations of `base`, never longer than maxLen. */
export function mutate(
  base: Buffer,
  rand: (n: number) => number,
  corpus: readonly Buffer[],
  dictionary: readonly Buffer[],
  maxLen: number,
): Buffer {
  let b = Buffer.from(base);
  const rounds = 1 + rand(8);
  for (let r = 0; r < rounds; r++) {
    const n = b.length;
    switch (rand(12)) {
      case 0: // flip a bit
        if (n > 0) b[rand(n)] ^= 1 << rand(8);
        break;
      case 1: // random byte
        if (n > 0) b[rand(n)] = rand(256);
        break;
      case 2: // interesting 8/16/32-bit value, big-endian as on the wire
        if (n >= 4) {
          const at = rand(n - 3);
          const w = rand(3);
          if (w === 0) b[at] = INTERESTING_8[rand(INTERESTING_8.length)]!;
          else if (w === 1) b.writeUInt16BE(INTERESTING_16[rand(INTERESTING_16.length)]!, at);
          else b.writeUInt32BE(INTERESTING_32[rand(INTERESTING_32.length)]!, at);
        } else if (n > 0) b[rand(n)] = INTERESTING_8[rand(INTERESTING_8.length)]!;
        break;
      case 3: {
        // insert random bytes
        const k = 1 + rand(8);
        const at = rand(n + 1);
        const ins = Buffer.alloc(k);
        for (let i = 0; i < k; i++) ins[i] = rand(256);
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 4: // delete a range
        if (n > 0) {
          const at = rand(n);
          const k = 1 + rand(Math.min(16, n - at));
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + k)]);
        }
        break;
      case 5: // copy a range over another place
        if (n > 1) {
          const from = rand(n);
          const k = 1 + rand(Math.min(32, n - from));
          const to = rand(n);
          b = Buffer.concat([b.subarray(0, to), b.subarray(from, from + k), b.subarray(to)]);
        }
        break;
      case 6: {
        // splice with another corpus entry
        const other = corpus.length > 0 ? corpus[rand(corpus.length)]! : Buffer.alloc(0);
        const cut = rand(n + 1);
        const cut2 = rand(other.length + 1);
        b = Buffer.concat([b.subarray(0, cut), other.subarray(cut2)]);
        break;
      }
      case 7: // a dictionary token, inserted or written over
        if (dictionary.length > 0) {
          const tok = dictionary[rand(dictionary.length)]!;
          const at = rand(n + 1);
          b = rand(2)
            ? Buffer.concat([b.subarray(0, at), tok, b.subarray(at)])
            : Buffer.concat([b.subarray(0, at), tok, b.subarray(Math.min(n, at + tok.length))]);
        }
        break;
      case 8: // small arithmetic on a byte or a 16-bit word
        if (n >= 2) {
          const at = rand(n - 1);
          const d = rand(35) - 17;
          if (rand(2)) b[at] = (b[at]! + d) & 0xff;
          else b.writeUInt16BE((b.readUInt16BE(at) + d) & 0xffff, at);
        }
        break;
      case 9: // truncate
        if (n > 0) b = b.subarray(0, rand(n));
        break;
      case 10: // make a 16-bit field the length of what follows it (STUN, ChannelData, TLV shapes)
        if (n >= 4) {
          const at = rand(n - 1);
          const after = n - at - 2;
          const hdr = rand(3) === 0 ? 16 : 0;
          b.writeUInt16BE(Math.max(0, after - hdr) & 0xffff, at);
        }
        break;
      default: // duplicate the whole input (repetition: lists, streams of frames)
        if (n > 0 && n * 2 <= maxLen) b = Buffer.concat([b, b]);
        break;
    }
  }
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}

function describeError(e: unknown): { message: string; stack?: string } {
  if (e instanceof Error) {
    return { message: `${e.name}: ${e.message}`.slice(0, 500), ...(e.stack ? { stack: e.stack } : {}) };
  }
  return { message: `non-Error thrown: ${String(e)}`.slice(0, 500) };
}

/** Runs `fuzz` until `runs` executions or `timeMs` have passed. Never throws on a finding. */
export function runEngine(fuzz: FuzzFn, opts: EngineOptions): EngineResult {
  const rand = rng(opts.seed);
  const maxLen = opts.maxLen ?? 4096;
  const slowMs = opts.slowMs ?? 1000;
  const cov = opts.coverage;
  const seen = cov ? new Uint8Array(cov.length) : undefined;
  const corpus: Buffer[] = [];
  const dictionary = opts.dictionary ?? [];
  const result: EngineResult = {
    executions: 0,
    corpusSize: 0,
    edges: 0,
    findings: [],
    elapsedMs: 0,
    slowestMs: 0,
  };
  const crashKeys = new Set<string>();
  const start = performance.now();
  let nextProgress = start + 1000;

  const exec = (input: Buffer): boolean => {
    opts.onInput?.(input);
    cov?.fill(0);
    const t0 = performance.now();
    let error: unknown;
    let threw = false;
    try {
      fuzz(input);
    } catch (e) {
      threw = true;
      error = e;
    }
    const dt = performance.now() - t0;
    result.executions++;
    if (dt > result.slowestMs) result.slowestMs = dt;
    if (threw) {
      const d = describeError(error);
      const key = d.message.split('\n')[0]!;
      if (!crashKeys.has(key) && crashKeys.size < 50) {
        crashKeys.add(key);
        const f: Finding = { kind: 'crash', input: Buffer.from(input), ...d };
        result.findings.push(f);
        opts.onFinding?.(f);
      }
    } else if (dt > slowMs) {
      const f: Finding = { kind: 'slow', input: Buffer.from(input), message: `took ${dt.toFixed(0)} ms` };
      result.findings.push(f);
      opts.onFinding?.(f);
    }
    if (!cov || !seen) return false;
    let fresh = false;
    for (let i = 0; i < cov.length; i++) {
      const c = cov[i]!;
      if (c === 0) continue;
      const bit = BUCKET[c]!;
      const s = seen[i]!;
      if ((s & bit) === 0) {
        if (s === 0) result.edges++;
        seen[i] = s | bit;
        fresh = true;
      }
    }
    return fresh;
  };

  const done = (): boolean => result.executions >= opts.runs || performance.now() - start >= opts.timeMs;

  for (const seed of opts.corpus) {
    if (done()) break;
    const input = seed.length > maxLen ? seed.subarray(0, maxLen) : seed;
    if (exec(input) || !cov) corpus.push(input);
  }
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));

  while (!done()) {
    // half the time one of the 32 newest entries: fresh coverage is worth exploring first
    const idx =
      rand(2) === 0
        ? rand(corpus.length)
        : Math.max(0, corpus.length - 1 - rand(Math.min(32, corpus.length)));
    const input = mutate(corpus[idx]!, rand, corpus, dictionary, maxLen);
    if (exec(input)) {
      corpus.push(input);
      opts.onNewCoverage?.(input);
    }
    if (opts.onProgress && (result.executions & 255) === 0) {
      const now = performance.now();
      if (now >= nextProgress) {
        nextProgress = now + 1000;
        result.elapsedMs = now - start;
        result.corpusSize = corpus.length;
        opts.onProgress(result);
      }
    }
  }
  result.elapsedMs = performance.now() - start;
  result.corpusSize = corpus.length;
  return result;
}

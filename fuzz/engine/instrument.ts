/**
 * Builds a fuzz target for coverage-guided fuzzing: esbuild bundles fuzz/<name>.fuzz.ts and the
 * code it imports (npm packages stay external), then Jazzer.js's Babel plugins instrument it:
 * a counter per branch (its ESM coverage plugin, which writes a plain Uint8Array) and compare
 * hooks (the values the code compares input against become dictionary tokens). The result is
 * loaded in this process, so the engine reads the counters directly.
 *
 * Jazzer.js's libFuzzer addon is not used: its only Linux build needs glibc 2.38 (docs/SECURITY.md).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildSync } from 'esbuild';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BUILD_DIR = path.join(ROOT, '.fuzz-build');

interface BabelLike {
  transformSync(code: string, opts: object): { code?: string | null } | null;
}

const jazzerRequire = createRequire(
  createRequire(import.meta.url).resolve('@jazzer.js/instrumentor/package.json'),
);
const babel = jazzerRequire('@babel/core') as BabelLike;
const { esmCodeCoverage } = jazzerRequire('./dist/plugins/esmCodeCoverage.js') as {
  esmCodeCoverage(): { plugin: () => object; edgeCount(): number };
};
const { compareHooks } = jazzerRequire('./dist/plugins/compareHooks.js') as { compareHooks(): object };

export interface InstrumentedTarget {
  readonly name: string;
  readonly fuzz: (data: Buffer) => void;
  /** The branch counters the target bumps. */
  readonly coverage: Uint8Array;
  /** Values the target compared input against, as tokens (grows while it runs). */
  readonly dictionary: Buffer[];
  /** Instrumented branches in the target's own code (runtime/, contract/, fuzz/). */
  readonly edges: number;
}

const MAX_TOKENS = 2048;

/** Installs the compare-hook callbacks the instrumented code calls (Fuzzer.tracer.*). */
function installTracer(dictionary: Buffer[]): void {
  const seen = new Set<string>();
  const add = (v: unknown): void => {
    if (dictionary.length >= MAX_TOKENS) return;
    let tok: Buffer | undefined;
    if (typeof v === 'string' && v.length > 0 && v.length <= 64) tok = Buffer.from(v, 'utf8');
    else if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) {
      tok = Buffer.alloc(v <= 0xff ? 1 : v <= 0xffff ? 2 : 4);
      if (v <= 0xff) tok[0] = v;
      else if (v <= 0xffff) tok.writeUInt16BE(v, 0);
      else tok.writeUInt32BE(v, 0);
      if (v > 9 && v < 100_000) {
        // numbers are also compared as text (ports, TTLs, config fields)
        const txt = String(v);
        if (!seen.has(txt)) {
          seen.add(txt);
          dictionary.push(Buffer.from(txt));
        }
      }
    }
    if (tok === undefined) return;
    const k = tok.toString('latin1');
    if (seen.has(k)) return;
    seen.add(k);
    dictionary.push(tok);
  };
  const cmp = (a: unknown, b: unknown, op: string): boolean => {
    // biome-ignore lint/suspicious/noDoubleEquals: mirrors the operator that was instrumented
    if (op === '==') return a == b;
    // biome-ignore lint/suspicious/noDoubleEquals: mirrors the operator that was instrumented
    if (op === '!=') return a != b;
    if (op === '===') return a === b;
    if (op === '!==') return a !== b;
    const x = a as number;
    const y = b as number;
    if (op === '<') return x < y;
    if (op === '<=') return x <= y;
    if (op === '>') return x > y;
    return x >= y;
  };
  (globalThis as Record<string, unknown>).Fuzzer = {
    tracer: {
      traceStrCmp(a: unknown, b: unknown, op: string): boolean {
        add(a);
        add(b);
        return cmp(a, b, op);
      },
      traceNumberCmp(a: unknown, b: unknown, op: string): boolean {
        add(a);
        add(b);
        return cmp(a, b, op);
      },
      traceAndReturn(_current: unknown, caseValue: unknown): unknown {
        add(caseValue);
        return caseValue;
      },
    },
  };
}

/** Bundles and instruments fuzz/<name>.fuzz.ts, then loads it. */
export function instrumentTarget(name: string): InstrumentedTarget {
  const entry = path.join(ROOT, 'fuzz', `${name}.fuzz.ts`);
  const out = buildSync({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  const bundled = out.outputFiles[0]!.text;
  const cov = esmCodeCoverage();
  const res = babel.transformSync(bundled, {
    babelrc: false,
    configFile: false,
    sourceType: 'script',
    compact: false,
    plugins: [cov.plugin, compareHooks],
  });
  if (!res?.code) throw new Error(`instrumenting ${name} produced no code`);
  const edges = cov.edgeCount();
  const coverage = new Uint8Array(edges);
  const key = `__fuzzCoverage_${name.replace(/\W/g, '_')}`;
  (globalThis as Record<string, unknown>)[key] = coverage;
  const dictionary: Buffer[] = [];
  installTracer(dictionary);
  const code = `const __jazzer_cov = globalThis.${key};\n${res.code}`;
  mkdirSync(BUILD_DIR, { recursive: true });
  // a content-addressed name: a rebuilt target is a new module, never a stale require cache hit
  const file = path.join(
    BUILD_DIR,
    `${name}.${createHash('sha1').update(code).digest('hex').slice(0, 12)}.cov.cjs`,
  );
  for (const old of readdirSync(BUILD_DIR)) {
    if (old.startsWith(`${name}.`) && old.endsWith('.cov.cjs') && path.join(BUILD_DIR, old) !== file) {
      rmSync(path.join(BUILD_DIR, old), { force: true });
    }
  }
  writeFileSync(file, code);
  const mod = createRequire(import.meta.url)(file) as { fuzz?: (data: Buffer) => void };
  if (typeof mod.fuzz !== 'function') throw new Error(`fuzz/${name}.fuzz.ts exports no fuzz(data)`);
  return { name, fuzz: mod.fuzz, coverage, dictionary, edges };
}

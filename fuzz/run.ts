/**
 * `npm run fuzz`: the long fuzzing run, each target in its own process, one after the other.
 *
 *   npm run fuzz -- [--time=<seconds per target>] [--runs=<inputs per target>] [--seed=<n>]
 *                   [--targets=stun-codec,stream-framer,config-loader,ice-query] [--hang-ms=<ms>]
 *
 * Defaults: 180 s per target (12 minutes for the four), no input limit, seed 1, a hang after 10 s.
 * Inputs that reach new coverage accumulate in .fuzz-build/corpus/<target>/ (the next run starts
 * from them too); findings go to .fuzz-build/findings/<target>/ with their message. Prints a table
 * of executions and findings and writes .fuzz-build/fuzz-report.json; exits 1 on any finding.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TARGETS, type TargetName } from './engine/corpus.js';
import { BUILD_DIR, ROOT } from './engine/instrument.js';

interface Done {
  target: string;
  executions: number;
  edges: number;
  instrumented: number;
  corpus: number;
  seeds: number;
  findings: { kind: string; message: string }[];
  elapsedMs: number;
  slowestMs: number;
}

function flag(name: string, dflt: string): string {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : dflt;
}

/** Why Jazzer.js's own libFuzzer driver cannot run here (or undefined when it can). */
function jazzerDriverProblem(): string | undefined {
  try {
    createRequire(import.meta.url)('@jazzer.js/fuzzer');
    return undefined;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).split('\n')[0];
  }
}

function runTarget(
  target: TargetName,
  seconds: number,
  runs: number,
  seed: number,
  hangMs: number,
): Promise<Done> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'fuzz/engine/child.ts'),
        target,
        String(runs),
        String(seconds),
        String(seed),
        String(hangMs),
        BUILD_DIR,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let last: Done | undefined;
    let hang = false;
    let executions = 0;
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const m = JSON.parse(line) as Partial<Done> & {
            progress?: boolean;
            hang?: boolean;
            done?: boolean;
          };
          if (m.progress) executions = m.executions ?? executions;
          else if (m.hang) hang = true;
          else if (m.done) last = m as Done;
        } catch {
          process.stdout.write(`${line}\n`);
        }
      }
    });
    child.once('exit', (code, signal) => {
      if (last && code === 0) return resolve(last);
      resolve({
        target,
        executions,
        edges: 0,
        instrumented: 0,
        corpus: 0,
        seeds: 0,
        findings: [
          {
            kind: hang ? 'hang' : 'crash',
            message: hang ? `no return for ${hangMs} ms` : `exit ${code ?? signal}`,
          },
        ],
        elapsedMs: seconds * 1000,
        slowestMs: hang ? hangMs : 0,
      });
    });
  });
}

const seconds = Number(flag('time', '180'));
const runs = Number(flag('runs', String(Number.MAX_SAFE_INTEGER)));
const seed = Number(flag('seed', '1'));
const hangMs = Number(flag('hang-ms', '10000'));
const targets = flag('targets', TARGETS.join(',')).split(',') as TargetName[];
for (const t of targets)
  if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}; one of ${TARGETS.join(', ')}`);

const why = jazzerDriverProblem();
console.log(
  why === undefined
    ? 'Jazzer.js libFuzzer addon loads here; this run uses the built-in engine with Jazzer.js instrumentation.'
    : `Jazzer.js libFuzzer addon unavailable (${why}); using the built-in engine with Jazzer.js instrumentation.`,
);
console.log(`fuzzing ${targets.join(', ')}: ${seconds} s per target, seed ${seed}`);
const results: Done[] = [];
for (const t of targets) {
  const r = await runTarget(t, seconds, runs, seed, hangMs);
  results.push(r);
  console.log(
    `${t.padEnd(14)} ${String(r.executions).padStart(10)} inputs in ${(r.elapsedMs / 1000).toFixed(0)} s` +
      `, ${r.edges}/${r.instrumented} branches, corpus ${r.seeds} -> ${r.corpus}, slowest ${r.slowestMs} ms` +
      `, ${r.findings.length} findings`,
  );
  for (const f of r.findings) console.log(`  ${f.kind}: ${f.message}`);
}
const total = results.reduce((n, r) => n + r.executions, 0);
const findings = results.reduce((n, r) => n + r.findings.length, 0);
console.log(`total: ${total} inputs, ${findings} findings`);
mkdirSync(BUILD_DIR, { recursive: true });
writeFileSync(
  path.join(BUILD_DIR, 'fuzz-report.json'),
  `${JSON.stringify({ date: new Date().toISOString(), seconds, seed, total, findings, results }, null, 2)}\n`,
);
process.exit(findings > 0 ? 1 : 0);

/**
 * One fuzz target in its own process (run by fuzz/run.ts): instruments it, runs the engine, and
 * prints one JSON line per second and one at the end. A watchdog thread shares the current input
 * through a SharedArrayBuffer: if the target stops returning for `hangMs`, it saves that input as
 * a hang finding and kills the process (a synchronous loop cannot be interrupted from inside).
 * Usage: child.ts <target> <runs> <seconds> <seed> <hangMs> <outDir>
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { committedCorpus, readCorpus, storeInput, type TargetName } from './corpus.js';
import { runEngine } from './engine.js';
import { instrumentTarget } from './instrument.js';

const [target, runs, seconds, seed, hangMs, outDir] = process.argv.slice(2) as [
  TargetName,
  string,
  string,
  string,
  string,
  string,
];
const MAX_LEN = 4096;
const shared = new SharedArrayBuffer(8 + MAX_LEN);
const beat = new Int32Array(shared, 0, 2); // [heartbeat, input length]
const bytes = new Uint8Array(shared, 8);

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { writeFileSync, mkdirSync } = require('node:fs');
const beat = new Int32Array(workerData.shared, 0, 2);
const bytes = new Uint8Array(workerData.shared, 8);
let last = -1, since = Date.now();
setInterval(() => {
  const now = Atomics.load(beat, 0);
  if (now !== last) { last = now; since = Date.now(); return; }
  if (Date.now() - since < workerData.hangMs) return;
  const len = Atomics.load(beat, 1);
  mkdirSync(workerData.dir, { recursive: true });
  writeFileSync(workerData.dir + '/hang-input', Buffer.from(bytes.slice(0, len)));
  process.stdout.write(JSON.stringify({ hang: true, ms: Date.now() - since }) + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, 200).unref();
`;
const findingsDir = path.join(outDir, 'findings', target);
const watchdog = new Worker(WATCHDOG, {
  eval: true,
  workerData: { shared, hangMs: Number(hangMs), dir: findingsDir },
});
watchdog.unref();

const t = instrumentTarget(target);
const grown = path.join(outDir, 'corpus', target);
const corpus = [...committedCorpus(target), ...readCorpus(grown)];
const r = runEngine(t.fuzz, {
  seed: Number(seed),
  runs: Number(runs),
  timeMs: Number(seconds) * 1000,
  maxLen: MAX_LEN,
  corpus,
  coverage: t.coverage,
  dictionary: t.dictionary,
  slowMs: Math.min(1000, Number(hangMs)),
  onInput: (input) => {
    const n = Math.min(input.length, MAX_LEN);
    bytes.set(input.subarray(0, n));
    Atomics.store(beat, 1, n);
    Atomics.add(beat, 0, 1);
  },
  onNewCoverage: (input) => storeInput(grown, input),
  onFinding: (f) => {
    const name = storeInput(findingsDir, f.input, `${f.kind}-`);
    writeFileSync(path.join(findingsDir, `${name}.txt`), `${f.message}\n${f.stack ?? ''}\n`);
  },
  onProgress: (p) =>
    process.stdout.write(`${JSON.stringify({ progress: true, executions: p.executions, edges: p.edges })}\n`),
});
process.stdout.write(
  `${JSON.stringify({
    done: true,
    target,
    executions: r.executions,
    edges: r.edges,
    instrumented: t.edges,
    corpus: r.corpusSize,
    seeds: corpus.length,
    findings: r.findings.map((f) => ({ kind: f.kind, message: f.message })),
    elapsedMs: Math.round(r.elapsedMs),
    slowestMs: Math.round(r.slowestMs * 10) / 10,
  })}\n`,
);
process.exit(0);

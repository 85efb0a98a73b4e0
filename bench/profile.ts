/**
 * `npx tsx bench/profile.ts [ours|node-turn|pion|coturn] [seconds] [load|alloc|perf] [--write]`: runs the
 * server under `node --cpu-prof`,
 * drives the same closed-loop ChannelData load as the benchmark (or `alloc`: seconds*1000 allocations), stops the server gracefully and
 * prints the hottest functions by self time (and by file), so the relay's hot path can be tuned.
 * Also writes the raw .cpuprofile into .bench-build/profiles/ (open it in Chrome DevTools).
 * `perf` mode samples the whole process with Linux perf instead (kernel vs Node/V8 vs JIT'd JS, via
 * --perf-basic-prof), which is where a UDP relay's time really goes; it works for any server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAllocations } from './alloc.js';
import { runLoad } from './load.js';
import { BUILD, coturn, freeUdpPort, nodeTurn, pion, ROOT, type ServerSpec, stunnerd } from './servers.js';

interface Node {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}

interface Profile {
  readonly nodes: Node[];
  readonly samples?: number[];
  readonly timeDeltas?: number[];
}

export interface HotSpot {
  readonly name: string;
  readonly where: string;
  readonly pct: number;
}

/** Maps bundle line numbers to source files via the `// path/file.ts` section comments esbuild writes. */
export function bundleSections(bundle: string): (line: number) => string | undefined {
  const marks: [number, string][] = [];
  bundle.split('\n').forEach((l, i) => {
    const m = /^\/\/ ((?:runtime|node_modules)\/\S+\.(?:ts|js|mjs|cjs|json))$/.exec(l);
    if (m) marks.push([i, m[1]!]);
  });
  return (line) => {
    let lo = 0;
    let hi = marks.length - 1;
    let best: string | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid]![0] <= line) {
        best = marks[mid]![1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  };
}

/** Self time per function (summed over call sites) and per file, as % of all samples. */
export function summarize(
  p: Profile,
  top = 25,
  section?: (line: number) => string | undefined,
): { functions: HotSpot[]; files: HotSpot[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  if (p.samples && p.timeDeltas) {
    // weight by time, so idle gaps are attributed to "(idle)" properly
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i]!;
      hits.set(id, (hits.get(id) ?? 0) + Math.max(0, p.timeDeltas[i + 1] ?? 0));
    }
  } else {
    for (const n of p.nodes) hits.set(n.id, n.hitCount ?? 0);
  }
  let total = 0;
  for (const v of hits.values()) total += v;
  const fn = new Map<string, HotSpot & { t: number }>();
  const file = new Map<string, number>();
  for (const [id, t] of hits) {
    const n = byId.get(id);
    if (!n || t === 0) continue;
    const url = n.callFrame.url.replace(/^file:\/\//, '');
    const inBundle = section && url.endsWith('/stunnerd.mjs') ? section(n.callFrame.lineNumber) : undefined;
    const rel =
      inBundle ?? (url.includes('/runtime/') ? url.slice(url.indexOf('/runtime/') + 1) : path.basename(url));
    const name = n.callFrame.functionName || '(anonymous)';
    const where = url ? `${rel}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const prev = fn.get(key);
    fn.set(key, { name, where, pct: 0, t: (prev?.t ?? 0) + t });
    const fk = url ? rel : name;
    file.set(fk, (file.get(fk) ?? 0) + t);
  }
  const functions = [...fn.values()]
    .sort((a, b) => b.t - a.t)
    .slice(0, top)
    .map((f) => ({ name: f.name, where: f.where, pct: (100 * f.t) / total }));
  const files = [...file.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, t]) => ({ name: k, where: '', pct: (100 * t) / total }));
  return { functions, files };
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'ours';
  const seconds = Number(process.argv[3] ?? 5);
  const what = process.argv[4] ?? 'load';
  const dir = path.join(BUILD, 'profiles', which);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const prof = ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100'];
  if (what === 'perf' || what === 'perf-alloc')
    return perfProfile(which, seconds, dir, what === 'perf-alloc');
  let spec: ServerSpec;
  if (which === 'ours') spec = { ...stunnerd(), start: (p, t) => stunnerd().start(p, t, prof) };
  else if (which === 'node-turn') spec = { ...nodeTurn, start: (p, t) => nodeTurn.start(p, t, prof) };
  else throw new Error(`unknown server ${which}: use ours or node-turn`);
  const tmp = os.tmpdir();
  const h = await spec.start(await freeUdpPort(), tmp);
  try {
    if (what === 'alloc') {
      const a = await runAllocations(h, {
        count: Math.round(seconds * 1000),
        concurrency: 32,
        releaseWaitMs: 2000,
      });
      console.log(`${h.name}: ${a.allocsPerSec.toFixed(0)} allocs/s (profiler on), ${a.failures} failures`);
      return;
    }
    const r = await runLoad(h, {
      clients: 10,
      window: 16,
      payload: 172,
      warmupMs: 500,
      durationMs: seconds * 1000,
      topology: 'pairs',
    });
    console.log(
      `${h.name}: ${(r.relayedPerSec / 1000).toFixed(1)}k pkt/s, ${r.cpuUsPerPkt.toFixed(2)} µs/pkt (profiler on), server ${r.serverCores.toFixed(2)} cores`,
    );
  } finally {
    await h.stop();
    await report(dir);
  }
}

function perfReport(data: string, sort: string, extra: string[] = []): string[] {
  const r = spawnSync(
    'perf',
    ['report', '-i', data, '--stdio', '--no-children', '--sort', sort, '-g', 'none', ...extra],
    {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.replace(/file:\/\/\S*\/\.bench-build\//, ''));
}

async function perfProfile(which: string, seconds: number, dir: string, alloc = false): Promise<void> {
  const lines: string[] = [];
  const say = (l: string): void => {
    console.log(l);
    lines.push(l);
  };
  const specs: Record<string, ServerSpec> = { ours: stunnerd(), 'node-turn': nodeTurn, pion, coturn };
  const spec = specs[which];
  if (!spec) throw new Error(`unknown server ${which}`);
  const data = path.join(dir, 'perf.data');
  const h = await spec.start(await freeUdpPort(), os.tmpdir(), ['--perf-basic-prof']);
  try {
    if (alloc) {
      // allocation churn while perf samples the whole process
      const perf = spawn('perf', ['record', '-F', '2000', '-g', '-o', data, '-p', String(h.pid)], {
        stdio: 'ignore',
      });
      await new Promise((r) => setTimeout(r, 300));
      const a = await runAllocations(h, { count: seconds * 1000, concurrency: 32, releaseWaitMs: 1500 });
      perf.kill('SIGINT');
      await new Promise((r) => perf.once('exit', r));
      say(`${h.name}: ${a.allocsPerSec.toFixed(0)} allocs/s under perf, ${a.failures} failures`);
    } else {
      const load = runLoad(h, {
        clients: 10,
        window: 16,
        payload: 172,
        warmupMs: 1000,
        durationMs: seconds * 1000 + 1500,
        topology: 'pairs',
      });
      await new Promise((r) => setTimeout(r, 1500));
      const perf = spawn(
        'perf',
        ['record', '-F', '2000', '-g', '-o', data, '-p', String(h.pid), '--', 'sleep', String(seconds)],
        { stdio: 'ignore' },
      );
      await new Promise((r) => perf.once('exit', r));
      const r = await load;
      say(
        `${h.name}: ${(r.relayedPerSec / 1000).toFixed(1)}k pkt/s, ${r.cpuUsPerPkt.toFixed(2)} µs/pkt, server ${r.serverCores.toFixed(2)} cores`,
      );
    }
  } finally {
    await h.stop();
  }
  if (!existsSync(data)) throw new Error('perf record wrote nothing (is perf allowed here?)');
  say('\nBy binary (kernel = syscalls + loopback network stack; node = V8/Node C++; JIT = JS):');
  for (const l of perfReport(data, 'dso').slice(0, 8)) say(l);
  if (!alloc && (which === 'ours' || which === 'node-turn')) {
    say('\nWhere the time goes (inclusive % of samples):');
    for (const [label, pct] of perfBreakdown(data)) say(`${pct.toFixed(1).padStart(5)}%  ${label}`);
  }
  say('\nHottest symbols (self):');
  for (const l of perfReport(data, 'dso,sym').slice(0, 40)) say(l);
  if (process.argv.includes('--write')) {
    const file = path.join(ROOT, 'docs/benchmarks', `profile-${which}${alloc ? '-alloc' : ''}.md`);
    writeFileSync(
      file,
      `# Where ${spec.name} spends its CPU ${alloc ? 'allocating' : 'under load'}\n\nGenerated by \`npx tsx bench/profile.ts ${which} ${seconds} perf --write\` on ${new Date().toISOString()} (Node ${process.version}, ${os.cpus().length} cores; other work may have been running). Linux perf over the whole server process while it relays the benchmark's ChannelData load (10 clients, window 16, 172 B). The buckets overlap (context switches happen inside syscalls).\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`,
    );
    console.log(`wrote ${path.relative(ROOT, file)}`);
  }
}

/** Inclusive ("children") and self percentages per symbol. */
function perfSymbols(data: string): { sym: string; incl: number; self: number }[] {
  const r = spawnSync(
    'perf',
    ['report', '-i', data, '--stdio', '--children', '--sort', 'sym', '-g', 'none'],
    {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  const out: { sym: string; incl: number; self: number }[] = [];
  for (const l of r.stdout.split('\n')) {
    const m = /^\s*([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(.*)$/.exec(l);
    if (m) out.push({ incl: Number(m[1]), self: Number(m[2]), sym: m[3]!.trim() });
  }
  return out;
}

/** The few buckets that explain a Node UDP relay's per-packet cost. */
export function perfBreakdown(data: string): [string, number][] {
  const syms = perfSymbols(data);
  const incl = (re: RegExp): number =>
    syms.filter((x) => re.test(x.sym)).reduce((m, x) => Math.max(m, x.incl), 0);
  const self = (re: RegExp): number => syms.filter((x) => re.test(x.sym)).reduce((sum, x) => sum + x.self, 0);
  const send = incl(/^__libc_sendmsg$/);
  // recvmsg: Node's own per-datagram reads; recvmmsg: the UDP module's batch drains (disjoint)
  const recv = incl(/^__libc_recvmsg$/) + incl(/^(__libc_recvmmsg|__recvmmsg|recvmmsg)$/);
  const nodeSend = incl(/^JS:\*?Socket\.send node:dgram/);
  return [
    ['sendmsg (kernel send path; on loopback it includes delivery to the receiver)', send],
    ['recvmsg + recvmmsg (kernel receive: Node per datagram, the UDP module per batch)', recv],
    [
      'Node send path above sendmsg (dgram Socket.send wrapper, or UDPWrap::DoSend when the handle is used directly)',
      Math.max(0, Math.max(nodeSend, incl(/^node::UDPWrap::DoSend$/)) - send),
    ],
    [
      'UDPWrap::OnRecv inclusive (the receive dispatch, JS handlers and the sends they make)',
      incl(/^node::UDPWrap::OnRecv$/),
    ],
    [
      'malloc/free (libc self time; per-datagram buffers)',
      self(/^(_int_malloc|_int_free|malloc|free|cfree|unlink_chunk.*|malloc_consolidate)$/),
    ],
    ['node::AddressToJS (rinfo object + address string per received datagram)', incl(/^node::AddressToJS$/)],
    ['ArrayBuffer/Buffer per received datagram (BackingStore::Allocate)', incl(/BackingStore::Allocate$/)],
    ['runtime JavaScript, self time (bundle functions)', self(/stunnerd\.mjs/)],
    ['garbage collection', incl(/Heap::PerformGarbageCollection$/)],
    ['context switches (finish_task_switch)', incl(/finish_task_switch/)],
  ];
}

async function report(dir: string): Promise<void> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0)
    throw new Error(`no .cpuprofile written in ${dir} (did the server exit gracefully?)`);
  const bundle = path.join(BUILD, 'stunnerd.mjs');
  const section = existsSync(bundle) ? bundleSections(readFileSync(bundle, 'utf8')) : undefined;
  // one profile per thread; the main thread's is the first
  for (const f of files.sort()) {
    const p = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Profile;
    const { functions, files: byFile } = summarize(p, 25, section);
    console.log(`\n== ${f}\nSelf time by function:`);
    for (const x of functions) console.log(`${x.pct.toFixed(1).padStart(5)}%  ${x.name}  ${x.where}`);
    console.log('\nSelf time by file:');
    for (const x of byFile.slice(0, 15)) console.log(`${x.pct.toFixed(1).padStart(5)}%  ${x.name}`);
  }
  console.log(`\nraw profiles: ${path.relative(process.cwd(), dir)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

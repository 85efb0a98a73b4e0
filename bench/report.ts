/** Renders the results as a Markdown table and a hand-made SVG bar chart. */
import type { AllocResult, FloodResult } from './alloc.js';
import type { LoadResult } from './load.js';

export interface ServerResult {
  readonly name: string;
  readonly mode: 'channel' | 'send';
  readonly error?: string;
  readonly rtt1?: LoadResult;
  readonly load?: LoadResult;
  /** Every load round, for the spread. */
  readonly rounds?: readonly LoadResult[];
  /**
   * The first allocation round: fresh memory, so its RSS growth and descriptor release are the
   * per-allocation cost (later rounds reuse what the first one grew).
   */
  readonly alloc?: AllocResult;
  /** Every allocation round (the rate is taken over them: the first one also warms the JIT). */
  readonly allocRounds?: readonly AllocResult[];
  readonly flood?: FloodResult;
  /** OS threads of the server process after the load rounds (worker threads show up here). */
  readonly osThreads?: number;
  /** For a process group: how the load's allocations landed on the processes (relay fds each). */
  readonly flowSpread?: string;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The round whose `pick` is nearest the median: it stands for them all (keeps a row self-consistent). */
export function medianRound<R>(rounds: readonly R[], pick: (r: R) => number): R | undefined {
  if (rounds.length === 0) return undefined;
  const m = median(rounds.map(pick));
  return rounds.reduce((b, x) => (Math.abs(pick(x) - m) < Math.abs(pick(b) - m) ? x : b));
}

/** The allocation round with the median rate: allocations/s and server CPU per allocation. */
export function allocRateRound(r: ServerResult | undefined): AllocResult | undefined {
  return medianRound(r?.allocRounds ?? (r?.alloc ? [r.alloc] : []), (x) => x.allocsPerSec);
}

export interface Target {
  readonly name: string;
  readonly pass: boolean | undefined;
  readonly detail: string;
}

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly date: string;
  readonly kernel: string;
  readonly loadBefore: string;
  readonly loadAfter: string;
  readonly busyOther: string;
  /** Cores busy with other work in a 1 s sample before the run. */
  readonly background: number;
  readonly runtimeHow: string;
}

export function fmt(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function kpps(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : `${(n / 1000).toFixed(1)}k`;
}

export function markdownTable(results: readonly ServerResult[]): string {
  const head = [
    'server',
    'data path',
    'relayed pkt/s',
    'server CPU µs/pkt',
    'server cores',
    'generator cores',
    'other cores',
    'loss',
    'RTT p50 / p99 w=1 (µs)',
    'latency p50 / p99 under load (µs)',
    'allocs/s (median round)',
    'server CPU µs/alloc',
    'RSS/alloc (first round)',
    'fds after Refresh(0) (first round)',
  ];
  const rows = results.map((r) => {
    if (r.error) return [r.name, '', `not measured: ${r.error}`, ...Array<string>(11).fill('')];
    const l = r.load;
    const a = r.alloc;
    const rate = allocRateRound(r);
    const fds = a
      ? Number.isFinite(a.fdReleaseMs)
        ? `baseline ${a.fdBaseline} in ${fmt(a.fdReleaseMs, 0)} ms`
        : `${a.fdAfter} (baseline ${a.fdBaseline}, not back in wait)`
      : 'n/a';
    return [
      r.name,
      r.mode === 'channel' ? 'ChannelData' : 'Send/Data',
      kpps(l?.relayedPerSec),
      fmt(l?.cpuUsPerPkt, 2),
      fmt(l?.serverCores, 2),
      fmt(l?.generatorCores, 2),
      fmt(l?.otherCores, 2),
      l ? `${l.lost}/${l.sent} (${fmt(l.lossPct, 3)}%)` : 'n/a',
      `${fmt(r.rtt1?.rttP50Us, 0)} / ${fmt(r.rtt1?.rttP99Us, 0)}`,
      `${fmt(l?.rttP50Us, 0)} / ${fmt(l?.rttP99Us, 0)}`,
      fmt(rate?.allocsPerSec, 0),
      rate ? `${fmt(rate.cpuUsPerAlloc, 0)} (server ${fmt(rate.serverCores, 2)} cores)` : 'n/a',
      a ? `${fmt(a.rssPerAllocBytes / 1024, 1)} KiB` : 'n/a',
      fds,
    ];
  });
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- SVG chart

const COLORS = ['#d9480f', '#1971c2', '#2f9e44', '#868e96', '#9c36b5', '#f08c00', '#0c8599', '#e64980'];

interface Panel {
  readonly title: string;
  readonly better: 'higher' | 'lower';
  readonly value: (r: ServerResult) => number | undefined;
  readonly label: (v: number) => string;
}

const PANELS: Panel[] = [
  {
    title: 'Relayed packets/s (172 B)',
    better: 'higher',
    value: (r) => r.load?.relayedPerSec,
    label: (v) => `${(v / 1000).toFixed(1)}k`,
  },
  {
    title: 'Server CPU µs per relayed packet',
    better: 'lower',
    value: (r) => r.load?.cpuUsPerPkt,
    label: (v) => v.toFixed(2),
  },
  {
    title: 'RTT p50 at window 1 (µs)',
    better: 'lower',
    value: (r) => r.rtt1?.rttP50Us,
    label: (v) => v.toFixed(0),
  },
  {
    title: 'Allocations/s (401 + auth)',
    better: 'higher',
    value: (r) => allocRateRound(r)?.allocsPerSec,
    label: (v) => v.toFixed(0),
  },
  {
    title: 'RSS per allocation (KiB)',
    better: 'lower',
    value: (r) => (r.alloc ? r.alloc.rssPerAllocBytes / 1024 : undefined),
    label: (v) => v.toFixed(1),
  },
];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The throughput load, for the chart's notes. */
export interface ChartLoad {
  readonly clients: number;
  readonly window: number;
  readonly mcClients: number;
  readonly mcWindow: number;
}

export function svgChart(results: readonly ServerResult[], subtitle: string, load: ChartLoad): string {
  const ok = results.filter((r) => !r.error);
  const panelW = 300;
  const barH = 18;
  const gap = 6;
  // room for the longest server name at 12 px
  const labelW = 260;
  const rowsOf = (p: Panel): ServerResult[] =>
    ok.filter((r) => {
      const v = p.value(r);
      return v !== undefined && Number.isFinite(v);
    });
  const panelH = 40 + Math.max(...PANELS.map((p) => rowsOf(p).length), 1) * (barH + gap);
  const cols = 2;
  const rows = Math.ceil(PANELS.length / cols);
  const width = cols * (labelW + panelW + 40) + 20;
  const height = 60 + rows * panelH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="20" y="24" font-size="16" font-weight="bold">TURN relay benchmark (loopback, ChannelData unless noted)</text>`,
    `<text x="20" y="42" fill="#555">${esc(subtitle)}</text>`,
  );
  PANELS.forEach((p, i) => {
    const x0 = 20 + (i % cols) * (labelW + panelW + 40);
    const y0 = 60 + Math.floor(i / cols) * panelH;
    const shown = rowsOf(p);
    const vals = shown.map((r) => p.value(r));
    const max = Math.max(...vals.filter((v): v is number => v !== undefined && Number.isFinite(v)), 1e-9);
    out.push(
      `<text x="${x0}" y="${y0 + 14}" font-weight="bold">${esc(p.title)} <tspan fill="#777" font-weight="normal">(${p.better} is better)</tspan></text>`,
    );
    if (shown.length === 0) out.push(`<text x="${x0}" y="${y0 + 38}" fill="#777">not measured</text>`);
    shown.forEach((r, j) => {
      const y = y0 + 24 + j * (barH + gap);
      const v = vals[j];
      out.push(`<text x="${x0}" y="${y + 13}">${esc(r.name)}</text>`);
      if (v === undefined || !Number.isFinite(v)) {
        out.push(`<text x="${x0 + labelW}" y="${y + 13}" fill="#777">n/a</text>`);
        return;
      }
      const w = Math.max(1, (v / max) * (panelW - 50));
      out.push(
        `<rect x="${x0 + labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[results.indexOf(r) % COLORS.length]}"/>`,
        `<text x="${(x0 + labelW + w + 4).toFixed(1)}" y="${y + 13}">${esc(p.label(v))}</text>`,
      );
    });
  });
  if (PANELS.length % cols === 1) {
    const x0 = 20 + (cols - 1) * (labelW + panelW + 40);
    const y0 = 60 + Math.floor(PANELS.length / cols) * panelH;
    const notes = [
      'A relayed packet is one datagram forwarded one way.',
      'CPU: utime+stime of the server process, /proc/<pid>/stat.',
      `Load: ${load.clients} clients, window ${load.window}, closed loop; node-turn`,
      'can only do Send/Data indications. "Node 22.x" rows:',
      'our runtime, threads 1/2 or 2 processes sharing the',
      `port (reusePort); ${load.mcClients} clients, window ${load.mcWindow}.`,
      'See results.md for loss, p99, fds and the targets.',
    ];
    notes.forEach((n, i) => {
      out.push(`<text x="${x0}" y="${y0 + 14 + i * 18}" fill="#555">${esc(n)}</text>`);
    });
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

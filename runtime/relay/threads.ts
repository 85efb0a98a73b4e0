/**
 * Multi-core relaying (admin.threads): on Node >= 22.12, where dgram honours `reusePort`, the
 * TURN-UDP listeners are bound by N threads on the same port and the kernel spreads client flows
 * across them by 4-tuple (a flow sticks to one thread, so each thread owns its allocations).
 * Each thread relays from its own slice of the listener's relay port range. TCP/TLS listeners stay
 * on the main thread. Elsewhere (Node 20) one thread relays.
 *
 * The Relay (relay.ts) runs the same way on every thread; RelayThreads is the main thread's side
 * of the others: it starts them, forwards every change to them (reconfigure, dynamic endpoints,
 * drain, stop), brokers EVEN-PORT reservations between them and sums their counters.
 */
import { isMainThread, type MessagePort, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ListenerConfig, StunnerConfig } from '../../contract/config/index.js';
import type { ScopedLogger } from '../log/logger.js';
import type { Claimed } from '../turn/hooks.js';
import { ClusterStats, ListenerStats } from '../turn/stats.js';

export const WORKER_KIND = 'stunnerd-relay-worker';

let entry: string | undefined;

/**
 * The script relay threads start from (it must hand a worker to runRelayWorker, as the stunnerd
 * CLI does). Set by the CLI; without it (e.g. a Relay embedded in a test) everything runs on one thread.
 */
export function setRelayWorkerEntry(script: string | undefined): void {
  entry = script;
}

export function relayWorkerEntry(): string | undefined {
  return entry;
}

/** Does this Node honour dgram's reusePort (>= 22.12)? */
export function reusePortSupported(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/** Threads actually used for a requested count. */
export function effectiveThreads(requested: number, version?: string): number {
  return requested > 1 && reusePortSupported(version) ? Math.min(requested, 64) : 1;
}

/** Slice `index` of `count` of a relay port range (each thread binds relay ports only from its own). */
export function relaySlice(
  min: number | undefined,
  max: number | undefined,
  index: number,
  count: number,
): { min: number | undefined; max: number | undefined } {
  if (min === undefined || max === undefined || count <= 1) return { min, max };
  const size = max - min + 1;
  const per = Math.floor(size / count);
  if (per < 2) return { min, max };
  const lo = min + index * per;
  const hi = index === count - 1 ? max : lo + per - 1;
  return { min: lo, max: hi };
}

/** The part of a config a relay worker serves: its UDP listeners, with its slice of each relay range. */
export function workerConfig(config: StunnerConfig, index: number, count: number): StunnerConfig {
  const listeners: ListenerConfig[] = config.listeners
    .filter((l) => l.protocol === 'TURN-UDP')
    .map((l) => {
      const s = relaySlice(l.min_relay_port, l.max_relay_port, index, count);
      const out: ListenerConfig = { ...l };
      if (s.min !== undefined) out.min_relay_port = s.min;
      if (s.max !== undefined) out.max_relay_port = s.max;
      return out;
    });
  return { ...config, listeners };
}

export interface WorkerStats {
  readonly listeners: Record<string, Record<string, number>>;
  readonly clusters: Record<string, Record<string, number>>;
  readonly allocations: number;
  readonly allocationsTotal: number;
}

export type ToWorker =
  | { readonly type: 'reconfigure'; readonly config: StunnerConfig }
  | { readonly type: 'dynamic'; readonly cluster: string; readonly ips: readonly string[] | undefined }
  | { readonly type: 'drain' }
  | { readonly type: 'stop' }
  /** Release reservation `token` (hex) for another thread. */
  | { readonly type: 'release'; readonly id: number; readonly token: string }
  /** Answer to this worker's claim. */
  | { readonly type: 'claimed'; readonly id: number; readonly got: Claimed | undefined };

export type { Claimed } from '../turn/hooks.js';

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'stats'; readonly stats: WorkerStats }
  | { readonly type: 'stopped' }
  | { readonly type: 'claim'; readonly id: number; readonly token: string }
  | { readonly type: 'released'; readonly id: number; readonly got: Claimed | undefined };

export interface WorkerInit {
  readonly kind: typeof WORKER_KIND;
  readonly index: number;
  readonly count: number;
  readonly config: StunnerConfig;
  readonly logLevel: string;
  readonly nonceSecret: Uint8Array;
}

/** Is this thread a relay worker? Then `workerInit()` holds its start parameters. */
export function isRelayWorker(): boolean {
  return !isMainThread && (workerData as WorkerInit | undefined)?.kind === WORKER_KIND;
}

export function workerInit(): WorkerInit {
  return workerData as WorkerInit;
}

export function workerPort(): MessagePort {
  return parentPort!;
}

/** Main-thread handle of one relay worker. */
export class RelayWorker {
  readonly worker: Worker;
  stats: WorkerStats | undefined;
  private nextId = 1;
  private readonly releases = new Map<number, (got: Claimed | undefined) => void>();
  private readonly ready: Promise<void>;
  private stopped: Promise<void> | undefined;

  constructor(
    entry: string,
    init: WorkerInit,
    onExit: (w: RelayWorker, code: number) => void,
    /** A claim from this worker for a reservation some other thread holds. */
    onClaim: (w: RelayWorker, token: string) => Promise<Claimed | undefined>,
  ) {
    this.worker = new Worker(entry, { workerData: init, argv: [] });
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'claim') {
        void onClaim(this, m.token).then((got) => this.post({ type: 'claimed', id: m.id, got }));
      } else if (m.type === 'released') {
        this.releases.get(m.id)?.(m.got);
        this.releases.delete(m.id);
      }
    });
    this.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'error') reject(new Error(`relay thread ${init.index}: ${m.message}`));
        else if (m.type === 'stats') this.stats = m.stats;
      };
      this.worker.on('message', onMessage);
      this.worker.once('error', (e) => reject(e));
      this.worker.once('exit', (code) => {
        reject(new Error(`relay thread ${init.index} exited with ${code}`));
        onExit(this, code);
      });
    });
  }

  /** Asks this worker to release a reservation; resolves with its port (or undefined) within 1 s. */
  release(token: string): Promise<Claimed | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.releases.delete(id);
        resolve(undefined);
      }, 1000);
      this.releases.set(id, (got) => {
        clearTimeout(timer);
        resolve(got);
      });
      this.post({ type: 'release', id, token });
    });
  }

  started(): Promise<void> {
    return this.ready;
  }

  post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 5000);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.post({ type: 'stop' });
    });
    return this.stopped;
  }
}

export interface RelayThreadsOptions {
  /** Script the threads start from (it routes a worker to runRelayWorker). */
  readonly entry: string;
  /** Threads in all, this one included. */
  readonly count: number;
  readonly config: StunnerConfig;
  readonly logLevel: string;
  readonly nonceSecret: Uint8Array;
  readonly log: ScopedLogger;
  /** Releases a reservation this (main) thread holds, for a claim from a worker. */
  readonly releaseOwn: (token: string) => Claimed | undefined;
}

/** The main thread's handle on the other relay threads. */
export class RelayThreads {
  private readonly workers: RelayWorker[] = [];
  private stopping = false;

  constructor(private readonly opts: RelayThreadsOptions) {}

  /** Starts threads 1..count-1; resolves once every one serves. */
  async start(): Promise<void> {
    const o = this.opts;
    for (let i = 1; i < o.count; i++) {
      const w = new RelayWorker(
        o.entry,
        {
          kind: WORKER_KIND,
          index: i,
          count: o.count,
          config: workerConfig(o.config, i, o.count),
          logLevel: o.logLevel,
          nonceSecret: o.nonceSecret,
        },
        (gone, code) => {
          const at = this.workers.indexOf(gone);
          if (at >= 0) this.workers.splice(at, 1);
          if (!this.stopping) o.log.error(`relay thread ${i} exited (${code})`);
        },
        (from, token) => this.claim(token, from),
      );
      this.workers.push(w);
    }
    await Promise.all(this.workers.map((w) => w.started()));
    o.log.info(`relaying on ${o.count} threads (reusePort)`);
  }

  /** Threads running besides this one. */
  get size(): number {
    return this.workers.length;
  }

  /**
   * EVEN-PORT reservations across relay threads: the follow-up Allocate may land on another thread,
   * which then asks the holder to release the port and binds it itself. `from` undefined: the main
   * thread asks.
   */
  async claim(token: string, from?: RelayWorker): Promise<Claimed | undefined> {
    if (from !== undefined) {
      const own = this.opts.releaseOwn(token);
      if (own) return own;
    }
    for (const w of this.workers) {
      if (w === from) continue;
      const got = await w.release(token);
      if (got) return got;
    }
    return undefined;
  }

  reconfigure(config: StunnerConfig): void {
    for (let i = 0; i < this.workers.length; i++) {
      this.workers[i]!.post({ type: 'reconfigure', config: workerConfig(config, i + 1, this.opts.count) });
    }
  }

  setDynamicEndpoints(cluster: string, ips: readonly string[] | undefined): void {
    for (const w of this.workers) w.post({ type: 'dynamic', cluster, ips });
  }

  drain(): void {
    this.stopping = true;
    for (const w of this.workers) w.post({ type: 'drain' });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.map((w) => w.stop()));
    this.workers.length = 0;
  }

  /** Allocations on the other threads, as last reported (about once a second). */
  allocations(): number {
    let n = 0;
    for (const w of this.workers) n += w.stats?.allocations ?? 0;
    return n;
  }

  allocationsTotal(): number {
    let n = 0;
    for (const w of this.workers) n += w.stats?.allocationsTotal ?? 0;
    return n;
  }

  /** This thread's listener counters plus the latest ones each relay thread reported. */
  listenerStats(own: ReadonlyMap<string, ListenerStats>): ReadonlyMap<string, ListenerStats> {
    return this.sum(own, 'listeners', () => new ListenerStats());
  }

  clusterStats(own: ReadonlyMap<string, ClusterStats>): ReadonlyMap<string, ClusterStats> {
    return this.sum(own, 'clusters', () => new ClusterStats());
  }

  private sum<T extends object>(
    own: ReadonlyMap<string, T>,
    kind: keyof Pick<WorkerStats, 'listeners' | 'clusters'>,
    make: () => T,
  ): ReadonlyMap<string, T> {
    if (this.workers.length === 0) return own;
    const out = new Map<string, T>();
    const add = (name: string, src: object) => {
      let t = out.get(name);
      if (!t) {
        t = make();
        out.set(name, t);
      }
      const dst = t as Record<string, number>;
      for (const [k, v] of Object.entries(src)) if (typeof v === 'number') dst[k] = (dst[k] ?? 0) + v;
    };
    for (const [name, s] of own) add(name, s);
    for (const w of this.workers) {
      for (const [name, s] of Object.entries(w.stats?.[kind] ?? {})) add(name, s);
    }
    return out;
  }
}

/** Why more relay threads than one cannot run here. */
export function singleThreadReason(): string {
  return reusePortSupported()
    ? 'this embedded runtime has no relay worker entry'
    : `Node.js ${process.versions.node} ignores dgram's reusePort (relay threads need 22.12 or later)`;
}

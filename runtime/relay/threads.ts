/**
 * Multi-core relaying (admin.threads): on Node >= 22.12, where dgram honours `reusePort`, the
 * TURN-UDP listeners are bound by N threads on the same port and the kernel spreads client flows
 * across them by 4-tuple (a flow sticks to one thread, so each thread owns its allocations).
 * Each thread relays from its own slice of the listener's relay port range. TCP/TLS listeners stay
 * on the main thread. Elsewhere (Node 20) one thread relays.
 */
import { isMainThread, type MessagePort, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ListenerConfig, StunnerConfig } from '../../contract/config/index.js';

export const WORKER_KIND = 'stunnerd-relay-worker';

let entry: string | undefined;

/**
 * The script relay threads start from (it must hand a worker to runRelayWorker, as the stunnerd
 * CLI does). Set by the CLI; without it (e.g. Stunnerd embedded in a test) everything runs on one thread.
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

export interface Claimed {
  readonly port: number;
  readonly family: 4 | 6;
}

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

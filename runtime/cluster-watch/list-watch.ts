/**
 * List, then watch from the list's resourceVersion, keeping a cache of the objects that match.
 *
 * Failure semantics, which the perimeter depends on:
 * - while the API is unreachable, the cache (and so the last reported set) is kept as is;
 * - after an outage, or a 410 Gone, the cache is REPLACED by a fresh list, so objects deleted
 *   during the outage disappear and nothing stale is added back;
 * - reconnects back off exponentially with jitter, up to a cap.
 */
import { type KubeConfig, type KubernetesObject, Watch } from '@kubernetes/client-node';
import type { ScopedLogger } from '../log/logger.js';

export interface ListResult<T> {
  readonly items: readonly T[];
  readonly metadata?: { readonly resourceVersion?: string };
}

export interface ListWatchOptions<T extends KubernetesObject> {
  /** What is watched, for log lines, e.g. `EndpointSlices of default/media`. */
  readonly what: string;
  readonly kubeConfig: KubeConfig;
  /** Collection path for the watch, e.g. `/api/v1/namespaces/default/services`. */
  readonly path: string;
  /** labelSelector / fieldSelector of both list and watch. */
  readonly query?: Readonly<Record<string, string>>;
  /** The list call (a typed @kubernetes/client-node API call with the same selectors). */
  readonly list: () => Promise<ListResult<T>>;
  /** The complete current set, after every list and every watch event that changed it. */
  readonly onChange: (items: readonly T[]) => void;
  readonly log: ScopedLogger;
  /** First reconnect delay. @default 250 */
  readonly initialBackoffMs?: number;
  /** Longest reconnect delay. @default 30000 */
  readonly maxBackoffMs?: number;
  /** A list that takes longer counts as failed. @default 10000 */
  readonly listTimeoutMs?: number;
  /** Server-side watch timeout; the watch then resumes from the last resourceVersion. @default 300 */
  readonly watchTimeoutSeconds?: number;
}

type WatchEnd = 'ended' | 'gone';

export class ListWatch<T extends KubernetesObject> {
  private readonly cache = new Map<string, T>();
  private readonly watcher: Watch;
  private resourceVersion = '';
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private failing = false;
  /** True once a list has succeeded: the reported set is the API's, not a guess. */
  synced = false;

  constructor(private readonly opts: ListWatchOptions<T>) {
    this.watcher = new Watch(opts.kubeConfig);
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
  }

  items(): T[] {
    return [...this.cache.values()];
  }

  private async run(): Promise<void> {
    const initial = this.opts.initialBackoffMs ?? 250;
    const max = this.opts.maxBackoffMs ?? 30_000;
    let backoff = initial;
    while (!this.stopped) {
      try {
        await this.relist();
        if (this.failing) {
          this.failing = false;
          this.opts.log.info(`${this.opts.what}: API reachable again, resynced (${this.cache.size} objects)`);
        }
        for (;;) {
          if (this.stopped) return;
          const started = Date.now();
          const end = await this.watchOnce();
          if (end === 'gone') break; // history compacted: relist and replace
          // A stream the server closes at once is a failure in disguise: back off, relist.
          if (Date.now() - started < 1000) throw new Error('watch closed right after it opened');
          backoff = initial; // a watch that held is what proves the API healthy again
        }
      } catch (err) {
        if (this.stopped) return;
        if (!this.failing) {
          this.failing = true;
          this.opts.log.warn(
            `${this.opts.what}: ${reason(err)}; keeping the last known set, retrying with backoff`,
          );
        } else {
          this.opts.log.debug(`${this.opts.what}: retry failed: ${reason(err)}`);
        }
        await this.sleep(backoff * (0.75 + Math.random() * 0.5));
        backoff = Math.min(backoff * 2, max);
      }
    }
  }

  private async relist(): Promise<void> {
    const timeoutMs = this.opts.listTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`list timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    let res: ListResult<T>;
    try {
      res = await Promise.race([this.opts.list(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) return;
    this.cache.clear();
    for (const item of res.items) this.cache.set(keyOf(item), item);
    this.resourceVersion = res.metadata?.resourceVersion ?? '';
    this.synced = true;
    this.opts.onChange(this.items());
  }

  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve, reject) => {
      let gone = false;
      let failure: Error | undefined;
      const query: Record<string, string | number | boolean> = {
        ...this.opts.query,
        allowWatchBookmarks: true,
        timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
      };
      if (this.resourceVersion !== '') query.resourceVersion = this.resourceVersion;
      const onEvent = (type: string, obj: T & { code?: number; message?: string }) => {
        if (this.stopped) return;
        const rv = obj?.metadata?.resourceVersion;
        switch (type) {
          case 'ADDED':
          case 'MODIFIED':
            this.cache.set(keyOf(obj), obj);
            break;
          case 'DELETED':
            this.cache.delete(keyOf(obj));
            break;
          case 'BOOKMARK':
            if (rv) this.resourceVersion = rv;
            return;
          case 'ERROR':
            if (obj?.code === 410) gone = true;
            else failure = new Error(`watch error ${obj?.code ?? ''} ${obj?.message ?? ''}`.trim());
            this.abort?.abort();
            return;
          default:
            return;
        }
        if (rv) this.resourceVersion = rv;
        this.opts.onChange(this.items());
      };
      const onDone = (err: unknown) => {
        this.abort = undefined;
        if (this.stopped || gone) resolve(gone ? 'gone' : 'ended');
        else if (failure) reject(failure);
        else if (err) reject(err);
        else resolve('ended');
      };
      this.watcher.watch(this.opts.path, query, onEvent, onDone).then(
        (ctl) => {
          if (this.stopped) ctl.abort();
          else this.abort = ctl;
        },
        (err: unknown) => onDone(err ?? new Error('watch failed')),
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).then(() => {
      this.wake = undefined;
    });
  }
}

function keyOf(o: KubernetesObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function reason(err: unknown): string {
  if (err instanceof Error) {
    const code =
      (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
    if (code === 401 || code === 403) return `not allowed (HTTP ${code}); check the watcher's RBAC`;
    const first = err.message.split('\n')[0];
    return `API unreachable (${code === undefined ? first : `${first} [${String(code)}]`})`;
  }
  return String(err);
}

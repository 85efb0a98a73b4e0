/**
 * List, then watch from the list's resourceVersion, keeping a cache of the objects that match.
 *
 * Failure semantics, which the perimeter depends on:
 * - while the API is unreachable, the cache (and so the last reported set) is kept as is;
 * - after an outage, or a 410 Gone, the cache is REPLACED by a fresh list, so objects deleted
 *   during the outage disappear and nothing stale is added back;
 * - reconnects back off exponentially with jitter, up to a cap.
 */
import type { ScopedLogger } from '../log/logger.js';
import { type KubeApi, KubeApiError, type WatchEnd, type WatchEventType } from './kube-api.js';
import type { KubeObject, ListResult } from './kube-types.js';

export type { ListResult } from './kube-types.js';

export interface ListWatchOptions<T extends KubeObject> {
  /** What is watched, for log lines, e.g. `EndpointSlices of default/media`. */
  readonly what: string;
  readonly api: KubeApi;
  /** Collection path of both list and watch, e.g. `/api/v1/namespaces/default/services`. */
  readonly path: string;
  /** labelSelector / fieldSelector of both list and watch. */
  readonly query?: Readonly<Record<string, string>>;
  /** The list call. @default api.list(path, query) */
  readonly list?: () => Promise<ListResult<T>>;
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

export class ListWatch<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private stopped = false;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private failing = false;
  /** True once a list has succeeded: the reported set is the API's, not a guess. */
  synced = false;

  constructor(private readonly opts: ListWatchOptions<T>) {}

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
      const list =
        this.opts.list ?? (() => this.opts.api.list<T>(this.opts.path, this.opts.query, { timeoutMs }));
      res = await Promise.race([list(), timeout]);
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

  private async watchOnce(): Promise<WatchEnd> {
    if (this.stopped) return 'ended';
    const abort = new AbortController();
    this.abort = abort;
    const onEvent = (type: WatchEventType, obj: T) => {
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
      }
      if (rv) this.resourceVersion = rv;
      this.opts.onChange(this.items());
    };
    try {
      return await this.opts.api.watch<T>(this.opts.path, this.opts.query ?? {}, onEvent, {
        ...(this.resourceVersion !== '' && { resourceVersion: this.resourceVersion }),
        timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
        signal: abort.signal,
      });
    } finally {
      if (this.abort === abort) this.abort = undefined;
    }
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

function keyOf(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function reason(err: unknown): string {
  if (err instanceof KubeApiError && (err.statusCode === 401 || err.statusCode === 403)) {
    const said = err.apiMessage ? `: ${err.apiMessage}` : '';
    return `not allowed (HTTP ${err.statusCode}); check the watcher's RBAC${said}`;
  }
  if (err instanceof Error) {
    const code =
      (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
    const first = err.message.split('\n')[0];
    return `API unreachable (${code === undefined ? first : `${first} [${String(code)}]`})`;
  }
  return String(err);
}

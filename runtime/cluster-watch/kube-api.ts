/**
 * A small Kubernetes API client: list a collection, watch it. Ours, not @kubernetes/client-node:
 * the pods need only these two calls, and the library was ~1.6 MB of the 2.6 MB pod bundle.
 *
 * Every failure rejects the returned promise (a socket error, a non-2xx answer with the API's
 * Status message, an oversized body or event, a timeout); nothing throws out of a callback.
 */
import { type ClientRequest, request as httpRequest, type IncomingMessage, STATUS_CODES } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { KubeObject, ListResult } from './kube-types.js';

/** TLS settings and headers of one request. */
export interface KubeRequestOptions {
  readonly ca?: SecureContextOptions['ca'];
  readonly cert?: SecureContextOptions['cert'];
  readonly key?: SecureContextOptions['key'];
  /** @default true */
  readonly rejectUnauthorized?: boolean;
  readonly servername?: string;
  /** Extra headers, e.g. `authorization`. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface KubeApiConnection {
  /** The API server's URL (`https://host:port`, or plain `http://` where there is no TLS). */
  readonly server: string;
  /** Called before every request, so that rotated tokens and certificates are picked up. */
  readonly requestOptions: () => KubeRequestOptions | Promise<KubeRequestOptions>;
  /** A list's body above this fails the list. @default 64 MiB */
  readonly maxListBytes?: number;
  /** A watch event (one line) above this fails the watch. @default 16 MiB */
  readonly maxEventBytes?: number;
}

/** A non-2xx answer: the path, the HTTP status and the API's Status message. */
export class KubeApiError extends Error {
  constructor(
    readonly path: string,
    readonly statusCode: number,
    /** The Status object's message, when the API sent one. */
    readonly apiMessage: string | undefined,
  ) {
    const text = STATUS_CODES[statusCode] ?? 'error';
    super(`GET ${path}: ${statusCode} ${text}${apiMessage && apiMessage !== text ? `: ${apiMessage}` : ''}`);
    this.name = 'KubeApiError';
  }
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/** How a watch ended: cleanly (server timeout, or aborted), or 410 Gone (relist needed). */
export type WatchEnd = 'ended' | 'gone';

export interface ListOptions {
  /** The whole list, connect to last byte. @default 30000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface WatchOptions {
  /** Where to start; none: the current objects first, as ADDED. */
  readonly resourceVersion?: string;
  /** The server ends the watch after this long. @default 300 */
  readonly timeoutSeconds?: number;
  /** Aborting ends the watch as 'ended'. */
  readonly signal?: AbortSignal;
}

/** Query parameters of both list and watch: labelSelector, fieldSelector. */
export type Selectors = Readonly<Record<string, string>>;

const MiB = 1024 * 1024;
/** Until the response headers (a watch's body may then stay silent a long time). */
const HEADERS_TIMEOUT_MS = 30_000;
/** A watch the server has not ended this long after its timeoutSeconds is a dead connection. */
const WATCH_GRACE_MS = 60_000;
/** An error answer's body is read this far for its Status message. */
const MAX_ERROR_BYTES = 64 * 1024;

interface Exchange<R> {
  readonly ok: (value: R) => void;
  readonly fail: (err: Error) => void;
  readonly settled: () => boolean;
}

export class KubeApi {
  private readonly base: URL;
  private readonly maxListBytes: number;
  private readonly maxEventBytes: number;

  constructor(private readonly conn: KubeApiConnection) {
    this.base = new URL(conn.server);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:')
      throw new Error(`Kubernetes API server ${conn.server}: not an http(s) URL`);
    this.maxListBytes = conn.maxListBytes ?? 64 * MiB;
    this.maxEventBytes = conn.maxEventBytes ?? 16 * MiB;
  }

  /** The server's URL, for log lines. */
  get server(): string {
    return this.conn.server;
  }

  /** GETs the collection at `path` (e.g. `/api/v1/namespaces/default/services`). */
  list<T extends KubeObject>(
    path: string,
    selectors: Selectors = {},
    opts: ListOptions = {},
  ): Promise<ListResult<T>> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return this.exchange<ListResult<T>>(path, selectors, opts.signal, timeoutMs, (res, x) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > this.maxListBytes) {
        x.fail(new Error(`GET ${path}: list of ${declared} bytes, more than ${this.maxListBytes}`));
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (x.settled()) return;
        size += chunk.length;
        if (size > this.maxListBytes)
          x.fail(new Error(`GET ${path}: list larger than ${this.maxListBytes} bytes`));
        else parts.push(chunk);
      });
      res.on('end', () => {
        if (x.settled()) return;
        let body: { items?: unknown; metadata?: { resourceVersion?: unknown } };
        try {
          body = JSON.parse(Buffer.concat(parts).toString('utf8'));
        } catch {
          x.fail(new Error(`GET ${path}: the answer is not JSON`));
          return;
        }
        if (!body || !Array.isArray(body.items)) {
          x.fail(new Error(`GET ${path}: the answer is not a list`));
          return;
        }
        const rv = body.metadata?.resourceVersion;
        x.ok({ items: body.items as T[], metadata: typeof rv === 'string' ? { resourceVersion: rv } : {} });
      });
    });
  }

  /**
   * Watches the collection at `path`, calling onEvent for each ADDED, MODIFIED, DELETED and
   * BOOKMARK event until the server ends the stream ('ended'), the signal aborts ('ended'), or
   * an ERROR event arrives: 410 Gone resolves 'gone' (relist), any other rejects. An onEvent
   * that throws fails the watch with its error.
   */
  async watch<T extends KubeObject>(
    path: string,
    selectors: Selectors,
    onEvent: (type: WatchEventType, object: T) => void,
    opts: WatchOptions = {},
  ): Promise<WatchEnd> {
    const timeoutSeconds = opts.timeoutSeconds ?? 300;
    const query: Record<string, string> = {
      ...selectors,
      watch: '1',
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    };
    if (opts.resourceVersion) query.resourceVersion = opts.resourceVersion;
    const deadline = timeoutSeconds * 1000 + WATCH_GRACE_MS;
    try {
      return await this.exchange<WatchEnd>(path, query, opts.signal, deadline, (res, x) =>
        this.readEvents(path, res, x, onEvent),
      );
    } catch (err) {
      if (opts.signal?.aborted) return 'ended';
      throw err;
    }
  }

  /** Splits the stream into lines (across any chunk boundaries, bounded) and hands out the events. */
  private readEvents<T>(
    path: string,
    res: IncomingMessage,
    x: Exchange<WatchEnd>,
    onEvent: (type: WatchEventType, object: T) => void,
  ): void {
    let parts: Buffer[] = [];
    let size = 0;
    const line = (bytes: Buffer) => {
      const text = bytes.toString('utf8').trim();
      if (text === '') return;
      let ev: { type?: unknown; object?: { code?: unknown; message?: unknown } };
      try {
        ev = JSON.parse(text);
      } catch {
        x.fail(new Error(`watch ${path}: an event is not JSON`));
        return;
      }
      switch (ev?.type) {
        case 'ADDED':
        case 'MODIFIED':
        case 'DELETED':
        case 'BOOKMARK':
          try {
            onEvent(ev.type, ev.object as T);
          } catch (err) {
            x.fail(err instanceof Error ? err : new Error(String(err)));
          }
          return;
        case 'ERROR': {
          const code = ev.object?.code;
          if (code === 410) x.ok('gone');
          else x.fail(new Error(`watch error ${code ?? ''} ${ev.object?.message ?? ''}`.trim()));
          return;
        }
        default:
          return; // a type this client does not know: nothing to do with it
      }
    };
    const tooLong = () => new Error(`watch ${path}: an event longer than ${this.maxEventBytes} bytes`);
    res.on('data', (chunk: Buffer) => {
      let start = 0;
      while (!x.settled()) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) break;
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        if (size + piece.length > this.maxEventBytes) {
          x.fail(tooLong());
          return;
        }
        const whole = size === 0 ? piece : Buffer.concat([...parts, piece]);
        parts = [];
        size = 0;
        line(whole);
      }
      if (x.settled() || start >= chunk.length) return;
      size += chunk.length - start;
      if (size > this.maxEventBytes) x.fail(tooLong());
      else parts.push(chunk.subarray(start));
    });
    res.on('end', () => {
      if (size > 0 && !x.settled()) line(Buffer.concat(parts));
      x.ok('ended');
    });
  }

  /**
   * One GET: handle() reads a 2xx answer and settles; anything else (an error answer, a socket
   * error, the deadline, the signal, the connection closing early) fails it. Settles once.
   */
  private async exchange<R>(
    path: string,
    query: Selectors,
    signal: AbortSignal | undefined,
    deadlineMs: number,
    handle: (res: IncomingMessage, x: Exchange<R>) => void,
  ): Promise<R> {
    // setTimeout takes at most 2^31-1 ms, and fires at once past it
    const deadline = Math.min(deadlineMs, 2 ** 31 - 1);
    signal?.throwIfAborted();
    const ro = await this.conn.requestOptions();
    signal?.throwIfAborted();
    const qs = new URLSearchParams(query).toString();
    const fullPath = `${this.base.pathname.replace(/\/+$/, '')}${path}${qs ? `?${qs}` : ''}`;
    const tls = this.base.protocol === 'https:';
    return new Promise<R>((resolve, reject) => {
      let done = false;
      let req: ClientRequest | undefined;
      let res: IncomingMessage | undefined;
      const timers: NodeJS.Timeout[] = [];
      const finish = (err: Error | undefined, value?: R) => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        if (err || !res?.complete) req?.destroy();
        if (err) reject(err);
        else resolve(value as R);
      };
      const x: Exchange<R> = {
        ok: (v) => finish(undefined, v),
        fail: (e) => finish(e),
        settled: () => done,
      };
      const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      timers.push(
        setTimeout(() => x.fail(new Error(`GET ${path}: timed out after ${deadline} ms`)), deadline),
      );
      const headersMs = Math.min(HEADERS_TIMEOUT_MS, deadline);
      const noAnswer = () => {
        if (!res) x.fail(new Error(`GET ${path}: no answer within ${headersMs} ms`));
      };
      timers.push(setTimeout(noAnswer, headersMs));
      try {
        req = (tls ? httpsRequest : httpRequest)({
          protocol: this.base.protocol,
          // URL keeps an IPv6 host in brackets; the socket wants it bare
          hostname: this.base.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: this.base.port || (tls ? 443 : 80),
          path: fullPath,
          method: 'GET',
          // a connection per request: a pooled one the server has dropped would fail a list
          agent: false,
          headers: { accept: 'application/json', ...ro.headers },
          ...(tls && {
            ...(ro.ca !== undefined && { ca: ro.ca }),
            ...(ro.cert !== undefined && { cert: ro.cert }),
            ...(ro.key !== undefined && { key: ro.key }),
            ...(ro.servername !== undefined && { servername: ro.servername }),
            rejectUnauthorized: ro.rejectUnauthorized ?? true,
          }),
        });
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      req.on('error', (err) => x.fail(err));
      req.on('response', (r) => {
        res = r;
        r.on('error', (err) => x.fail(err));
        const code = r.statusCode ?? 0;
        if (code < 200 || code > 299) {
          readStatus(r, (message) => x.fail(new KubeApiError(path, code, message)));
          return;
        }
        try {
          handle(r, x);
        } catch (err) {
          x.fail(err instanceof Error ? err : new Error(String(err)));
        }
        r.on('close', () => {
          if (!r.complete) x.fail(new Error(`GET ${path}: connection closed mid-answer`));
        });
      });
      req.end();
    });
  }
}

/** The message of an error answer's Status object, if it has one (read up to a bound). */
function readStatus(res: IncomingMessage, then: (message: string | undefined) => void): void {
  const parts: Buffer[] = [];
  let size = 0;
  let called = false;
  const finish = () => {
    if (called) return;
    called = true;
    let message: string | undefined;
    try {
      const m = (JSON.parse(Buffer.concat(parts).toString('utf8')) as { message?: unknown }).message;
      if (typeof m === 'string' && m !== '') message = m;
    } catch {
      // not a Status: the HTTP status alone says it
    }
    then(message);
  };
  res.on('data', (chunk: Buffer) => {
    if (size >= MAX_ERROR_BYTES) return;
    size += chunk.length;
    parts.push(chunk);
    if (size >= MAX_ERROR_BYTES) finish();
  });
  res.on('end', finish);
  res.on('close', finish);
}

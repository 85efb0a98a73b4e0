/**
 * A typed client of the ICE auth service for Node application servers (Node >= 20, global fetch):
 *
 * ```ts
 * import { getIceConfig } from 'stunner-gitops/ice-client';
 *
 * const ice = await getIceConfig({ url: 'http://stunner-auth.stunner:8088', namespace: 'stunner',
 *   gateway: 'udp-gateway', username: userId, iceTransportPolicy: 'relay' });
 * // hand `ice` to the browser as its RTCPeerConnection configuration
 * ```
 *
 * Network errors, timeouts and 5xx/429 answers are retried with exponential backoff and jitter;
 * other 4xx answers are final. Failures throw IceConfigError with the HTTP status (0 when no
 * answer came) and the service's message.
 *
 * @module stunner-gitops/ice-client
 */
import type {
  IceConfiguration,
  IceServer,
  IceTransportPolicy,
  TurnCredentials,
} from '../../contract/ice-api.js';

export type { IceConfiguration, IceServer, IceTransportPolicy, TurnCredentials };

export interface IceClientOptions {
  /** Base URL of the auth service, e.g. `http://stunner-auth.stunner:8088` (required). */
  readonly url: string;
  /** Namespace of the gateway(s); required with `gateway`. @default all namespaces */
  readonly namespace?: string;
  /** Gateway name; needs `namespace`. @default every gateway */
  readonly gateway?: string;
  /** Listener name; needs `namespace` and `gateway`. @default every listener */
  readonly listener?: string;
  /** User id folded into ephemeral usernames. @default none */
  readonly username?: string;
  /** Lifetime of ephemeral credentials in seconds. @default 86400 (the service's default) */
  readonly ttl?: number;
  /** @default 'all' (the service's default) */
  readonly iceTransportPolicy?: IceTransportPolicy;
  /** The TURN REST API key, for a service that requires one (`--api-key-file`). @default none */
  readonly key?: string;
  /** Per-attempt timeout. @default 2000 ms */
  readonly timeoutMs?: number;
  /** Extra attempts after the first for retryable failures. @default 3 */
  readonly retries?: number;
  /** First backoff delay, doubled per retry (with jitter), capped at 2 s. @default 100 ms */
  readonly backoffMs?: number;
  /** Aborts all attempts and waits. */
  readonly signal?: AbortSignal;
}

export class IceConfigError extends Error {
  /**
   * @param status HTTP status of the last answer, 0 if none came (network error or timeout)
   * @param attempts how many requests were made
   */
  constructor(
    message: string,
    readonly status: number,
    readonly url: string,
    readonly attempts: number,
  ) {
    super(message);
    this.name = 'IceConfigError';
  }
}

/** GET /ice: an RTCConfiguration for the browser. */
export async function getIceConfig(opts: IceClientOptions): Promise<IceConfiguration> {
  const body = await request(opts, '/ice');
  if (!isIceConfiguration(body)) throw new IceConfigError('malformed /ice answer', 200, opts.url, 1);
  return body;
}

/** GET /?service=turn: TURN REST API credentials (username, password, ttl, uris). */
export async function getTurnCredentials(opts: IceClientOptions): Promise<TurnCredentials> {
  const body = await request(opts, '/');
  if (!isTurnCredentials(body)) throw new IceConfigError('malformed TURN REST answer', 200, opts.url, 1);
  return body;
}

function buildUrl(opts: IceClientOptions, path: string): string {
  let base: URL;
  try {
    base = new URL(opts.url);
  } catch {
    throw new IceConfigError(`url ${JSON.stringify(opts.url)} is not a valid URL`, 0, opts.url, 0);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new IceConfigError(`url ${opts.url} must be http: or https:`, 0, opts.url, 0);
  }
  if (opts.gateway !== undefined && opts.namespace === undefined) {
    throw new IceConfigError('gateway needs namespace too', 0, opts.url, 0);
  }
  if (opts.listener !== undefined && (opts.namespace === undefined || opts.gateway === undefined)) {
    throw new IceConfigError('listener needs namespace and gateway too', 0, opts.url, 0);
  }
  const u = new URL(path, base);
  u.searchParams.set('service', 'turn');
  const set = (k: string, v: string | number | undefined) => {
    if (v !== undefined) u.searchParams.set(k, String(v));
  };
  set('username', opts.username);
  set('ttl', opts.ttl);
  set('namespace', opts.namespace);
  set('gateway', opts.gateway);
  set('listener', opts.listener);
  set('iceTransportPolicy', opts.iceTransportPolicy);
  set('key', opts.key);
  return u.toString();
}

const MAX_BODY = 1024 * 1024;

async function request(opts: IceClientOptions, path: string): Promise<unknown> {
  const url = buildUrl(opts, path);
  // What errors say: the URL without the API key (errors are logged and shown)
  const shown = opts.key === undefined ? url : redactKey(url);
  const retries = Math.max(0, Math.floor(opts.retries ?? 3));
  const timeoutMs = opts.timeoutMs ?? 2000;
  const backoff = opts.backoffMs ?? 100;
  let last: IceConfigError | undefined;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    if (opts.signal?.aborted) throw new IceConfigError('aborted', last?.status ?? 0, shown, attempt - 1);
    if (attempt > 1) {
      const delay = Math.min(2000, backoff * 2 ** (attempt - 2));
      await sleep(delay / 2 + Math.random() * (delay / 2), opts.signal);
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    let res: Response;
    try {
      res = await fetch(url, { signal, headers: { accept: 'application/json' } });
    } catch (e) {
      if (opts.signal?.aborted) throw new IceConfigError('aborted', 0, shown, attempt);
      const why = timeout.aborted ? `timed out after ${timeoutMs} ms` : networkReason(e);
      last = new IceConfigError(`${shown}: ${why}`, 0, shown, attempt);
      continue;
    }
    let text: string;
    try {
      text = await readBounded(res, signal);
    } catch (e) {
      last = new IceConfigError(
        `${shown}: reading the answer failed: ${networkReason(e)}`,
        res.status,
        shown,
        attempt,
      );
      continue;
    }
    if (res.ok) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new IceConfigError(`${shown}: answer is not JSON`, res.status, shown, attempt);
      }
    }
    last = new IceConfigError(
      `${shown}: ${res.status} ${serviceMessage(text, res.statusText)}`,
      res.status,
      shown,
      attempt,
    );
    if (res.status < 500 && res.status !== 429) throw last;
  }
  throw last!;
}

function redactKey(url: string): string {
  const u = new URL(url);
  u.searchParams.set('key', 'redacted');
  return u.toString();
}

async function readBounded(res: Response, signal: AbortSignal): Promise<string> {
  const len = Number(res.headers.get('content-length') ?? '0');
  if (len > MAX_BODY) {
    await res.body?.cancel();
    throw new Error(`answer of ${len} bytes is too large`);
  }
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    if (signal.aborted) throw new Error('timed out');
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_BODY) {
      await reader.cancel();
      throw new Error('answer is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function serviceMessage(text: string, fallback: string): string {
  try {
    const j = JSON.parse(text) as unknown;
    if (j !== null && typeof j === 'object' && typeof (j as { message?: unknown }).message === 'string') {
      return (j as { message: string }).message;
    }
  } catch {
    // not JSON: fall through
  }
  return text.trim().slice(0, 200) || fallback;
}

function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message ?? String(e);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');

function isIceServer(v: unknown): v is IceServer {
  if (v === null || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return isStringArray(s['urls']) && typeof s['username'] === 'string' && typeof s['credential'] === 'string';
}

function isIceConfiguration(v: unknown): v is IceConfiguration {
  if (v === null || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  return (
    Array.isArray(c['iceServers']) &&
    c['iceServers'].every(isIceServer) &&
    typeof c['iceTransportPolicy'] === 'string'
  );
}

function isTurnCredentials(v: unknown): v is TurnCredentials {
  if (v === null || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c['username'] === 'string' &&
    typeof c['password'] === 'string' &&
    typeof c['ttl'] === 'number' &&
    isStringArray(c['uris'])
  );
}

/**
 * The ICE auth service over node:http, shaped like STUNner's:
 *   GET /ice?service=turn&username=&ttl=&namespace=&gateway=&listener=&iceTransportPolicy=
 *     -> {"iceServers":[{"urls":[...],"username":"...","credential":"..."}],"iceTransportPolicy":"all"}
 *   GET /?service=turn&username=&ttl=  -> {"username","password","ttl","uris"}  (TURN REST API)
 *   GET /live, GET /ready              -> probes (ready once a config is loaded)
 * Errors are JSON `{"status":N,"message":"..."}`: 400 bad query, 401 API key missing or wrong
 * (only when one is configured), 404 nothing matches, 500 no config.
 * `public-addr` (or `public-ip`) in a query and STUNNER_PUBLIC_ADDR (`publicAddress`) override
 * the host of the returned URIs, in that order, as in STUNner's auth service.
 *
 * Public addresses: a watcher calls `setPublicAddress('ns/gateway', address, ports)` whenever a
 * gateway's Service status changes; a static `public_address` in the config wins over it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StunnerConfig } from '../../contract/config/index.js';
import { type Log, silentLog } from '../log/logger.js';
import {
  buildIceServers,
  type IceConfiguration,
  type IceServer,
  type TurnCredentials,
} from './ice-config.js';
import { PublicAddressBook } from './public-address.js';
import { type IceQuery, isHost, MAX_QUERY_LENGTH, parseIceQuery } from './query.js';

export const DEFAULT_AUTH_PORT = 8088;
const MAX_URL_LENGTH = MAX_QUERY_LENGTH + 64;

export interface IceAuthServerOptions {
  readonly logger?: Log;
  /** Clock in milliseconds, for ephemeral credentials. @default Date.now */
  readonly now?: () => number;
  /**
   * STUNNER_PUBLIC_ADDR: the host of every returned URI, unless a request's `public-addr` says
   * otherwise. @default none
   */
  readonly publicAddress?: string;
  /**
   * The TURN REST API key. When set, every /ice and / request must carry it as `key` (401
   * otherwise; compared in constant time). Without it, `key` is accepted and ignored, as
   * STUNner's service does. @default none
   */
  readonly apiKey?: string;
}

export class IceAuthServer {
  readonly publicAddresses = new PublicAddressBook();
  readonly #log: Log;
  readonly #now: () => number;
  readonly #publicAddress: string | undefined;
  readonly #apiKeyDigest: Buffer | undefined;
  #configs: readonly StunnerConfig[] = [];
  #server: Server | undefined;

  constructor(opts: IceAuthServerOptions = {}) {
    this.#log = opts.logger ?? silentLog;
    this.#now = opts.now ?? Date.now;
    if (opts.publicAddress !== undefined && !isHost(opts.publicAddress)) {
      throw new Error(`public address "${opts.publicAddress}" is neither an IP address nor a DNS name`);
    }
    this.#publicAddress = opts.publicAddress || undefined;
    if (opts.apiKey !== undefined && opts.apiKey === '') throw new Error('the API key is empty');
    this.#apiKeyDigest = opts.apiKey === undefined ? undefined : digest(opts.apiKey);
  }

  /** Replaces the configs answered from (e.g. from ConfigFiles' onChange). Order is kept. */
  setConfigs(configs: Iterable<StunnerConfig>): void {
    this.#configs = [...configs];
  }

  configCount(): number {
    return this.#configs.length;
  }

  /**
   * The watcher's hook: the public address of gateway `namespace/name` (its config's admin.name),
   * with public ports per listener name when they differ from the listener ports (NodePorts).
   * `undefined` forgets the address. Throws on a malformed address or port.
   */
  setPublicAddress(gateway: string, address: string | undefined, ports?: ReadonlyMap<string, number>): void {
    this.publicAddresses.set(gateway, address, ports);
    this.#log.info(`public address of ${gateway}: ${address ?? '(none)'}`);
  }

  /** The request handler, usable with any node:http server. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.#route(req, res);
    } catch (e) {
      // Never leak internals: the log gets the detail, the client a fixed message.
      this.#log.error(`request ${req.method} ${req.url?.slice(0, 100)} failed: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, { status: 500, message: 'internal error' });
      else res.destroy();
    }
  };

  /** Starts listening. @default port 8088 on all addresses. */
  async listen(port = DEFAULT_AUTH_PORT, host?: string): Promise<AddressInfo> {
    const server = createServer(
      { maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000 },
      this.handle,
    );
    server.keepAliveTimeout = 5_000;
    server.maxConnections = 1024;
    server.on('clientError', (_e, socket) => {
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    if (url.length > MAX_URL_LENGTH) {
      send(res, 414, { status: 414, message: `request URL is longer than ${MAX_URL_LENGTH} characters` });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, { status: 405, message: `method ${req.method} is not allowed; use GET` });
      return;
    }
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    switch (path) {
      case '/ice':
        this.#ice(rawQuery, res);
        return;
      case '/':
        this.#turn(rawQuery, res);
        return;
      case '/live':
        send(res, 200, { status: 200, message: 'alive' });
        return;
      case '/ready':
        if (this.#configs.length > 0) send(res, 200, { status: 200, message: 'ready' });
        else send(res, 503, { status: 503, message: 'no config loaded' });
        return;
      default:
        send(res, 404, { status: 404, message: `no such endpoint; use /ice or /` });
    }
  }

  #ice(rawQuery: string, res: ServerResponse): void {
    const r = this.#servers(rawQuery);
    if (!r.ok) {
      this.#fail(res, r.status, r.message);
      return;
    }
    const body: IceConfiguration = { iceServers: r.servers, iceTransportPolicy: r.query.iceTransportPolicy };
    send(res, 200, body);
  }

  #turn(rawQuery: string, res: ServerResponse): void {
    const r = this.#servers(rawQuery);
    if (!r.ok) {
      this.#fail(res, r.status, r.message);
      return;
    }
    // The TURN REST API has room for one credential: the first matching gateway's.
    const first = r.servers[0]!;
    const body: TurnCredentials = {
      username: first.username,
      password: first.credential,
      ttl: r.query.ttl,
      uris: first.urls,
    };
    send(res, 200, body);
  }

  #servers(
    rawQuery: string,
  ): { ok: true; query: IceQuery; servers: IceServer[] } | { ok: false; status: number; message: string } {
    const parsed = parseIceQuery(rawQuery);
    if (!parsed.ok) return { ok: false, status: 400, message: parsed.message };
    if (this.#apiKeyDigest !== undefined) {
      const key = parsed.query.key;
      // Digests have equal length, so the comparison takes the same time whatever was sent.
      if (key === undefined || !timingSafeEqual(digest(key), this.#apiKeyDigest)) {
        return {
          ok: false,
          status: 401,
          message: key === undefined ? 'parameter "key" is required' : 'parameter "key" is not the API key',
        };
      }
    }
    if (this.#configs.length === 0) return { ok: false, status: 500, message: 'no STUNner config is loaded' };
    const r = buildIceServers(
      this.#configs,
      this.publicAddresses,
      { ...parsed.query, envPublicAddr: this.#publicAddress },
      this.#nowSeconds(),
    );
    return r.ok ? { ok: true, query: parsed.query, servers: r.servers } : r;
  }

  #fail(res: ServerResponse, status: number, message: string): void {
    if (status >= 500) this.#log.error(message);
    send(res, status, { status, message });
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    // Answers carry credentials: never cache them anywhere.
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

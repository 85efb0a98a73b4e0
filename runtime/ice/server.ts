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
 * A `ttl` above `maxTtl` (default one day) is lowered to it: the answer says the lifetime granted
 * (the username's expiry; `ttl` in the TURN REST answer).
 *
 * Hostile clients: one client IP may hold `maxConnectionsPerIp` connections (more are closed at
 * accept), and every connection must deliver a complete request head within REQUEST_DEADLINE_MS
 * of its accept or of its previous answer, else it is closed. So half-sent requests cannot starve
 * other callers or the kubelet's probes, which share the port.
 *
 * Public addresses: a watcher calls `setPublicAddress('ns/gateway', address, ports)` whenever a
 * gateway's Service status changes; a static `public_address` in the config wins over it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { StunnerConfig } from '../../contract/config/index.js';
import {
  DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP,
  DEFAULT_ICE_AUTH_MAX_TTL,
  DEFAULT_ICE_AUTH_PORT,
  ICE_AUTH_MAX_CONNECTIONS,
} from '../../contract/defaults.js';
import { type Log, silentLog } from '../log/logger.js';
import {
  buildIceServers,
  type IceConfiguration,
  type IceServer,
  type TurnCredentials,
} from './ice-config.js';
import { PublicAddressBook } from './public-address.js';
import { type IceQuery, isHost, MAX_QUERY_LENGTH, MAX_TTL, parseIceQuery } from './query.js';

const MAX_URL_LENGTH = MAX_QUERY_LENGTH + 64;
/**
 * A connection's time to deliver a complete request head, from its accept or from the previous
 * answer on it (keep-alive). Callers and probes send their few hundred bytes at once.
 */
export const REQUEST_DEADLINE_MS = 5_000;
/** Connections of all clients together. */
export const MAX_CONNECTIONS = ICE_AUTH_MAX_CONNECTIONS;

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
  /**
   * Longest credential lifetime in seconds; a longer `ttl` is lowered to it (1 to 31536000).
   * @default 86400 (one day)
   */
  readonly maxTtl?: number;
  /**
   * Connections one client IP may hold open; more are closed at accept.
   * @default 64
   */
  readonly maxConnectionsPerIp?: number;
}

/** What the connection guard has done so far. */
export interface ConnectionStats {
  /** Connections open now. */
  readonly open: number;
  /** Closed at accept: their IP held maxConnectionsPerIp already. */
  readonly refusedPerIp: number;
  /** Closed because no complete request head came within REQUEST_DEADLINE_MS. */
  readonly deadlineClosed: number;
}

export class IceAuthServer {
  readonly publicAddresses = new PublicAddressBook();
  readonly #log: Log;
  readonly #now: () => number;
  readonly #publicAddress: string | undefined;
  readonly #apiKeyDigest: Buffer | undefined;
  readonly #maxTtl: number;
  readonly #maxPerIp: number;
  /** Open connections per client IP; an entry lives only while its IP has one. */
  readonly #perIp = new Map<string, number>();
  /** The deadline of each connection waiting for a request head. */
  readonly #deadlines = new Map<Socket, NodeJS.Timeout>();
  #open = 0;
  #refusedPerIp = 0;
  #deadlineClosed = 0;
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
    const maxTtl = opts.maxTtl ?? DEFAULT_ICE_AUTH_MAX_TTL;
    if (!Number.isInteger(maxTtl) || maxTtl < 1 || maxTtl > MAX_TTL)
      throw new Error(`max TTL ${maxTtl} is not a whole number of seconds from 1 to ${MAX_TTL}`);
    this.#maxTtl = maxTtl;
    const perIp = opts.maxConnectionsPerIp ?? DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP;
    if (!Number.isInteger(perIp) || perIp < 1 || perIp > MAX_CONNECTIONS)
      throw new Error(`max connections per IP ${perIp} is not a whole number from 1 to ${MAX_CONNECTIONS}`);
    this.#maxPerIp = perIp;
  }

  /** The longest credential lifetime granted, in seconds. */
  get maxTtl(): number {
    return this.#maxTtl;
  }

  connectionStats(): ConnectionStats {
    return { open: this.#open, refusedPerIp: this.#refusedPerIp, deadlineClosed: this.#deadlineClosed };
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
  async listen(port = DEFAULT_ICE_AUTH_PORT, host?: string): Promise<AddressInfo> {
    const server = createServer(
      {
        maxHeaderSize: 8192,
        requestTimeout: 10_000,
        // Backstops of #arm's deadline, which fires first: Node checks these two only every
        // connectionsCheckingInterval (30 s by default).
        headersTimeout: REQUEST_DEADLINE_MS + 1_000,
        connectionsCheckingInterval: 1_000,
      },
      this.handle,
    );
    server.keepAliveTimeout = REQUEST_DEADLINE_MS;
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (socket: Socket) => this.#accept(socket));
    // Before the handler: it may answer synchronously.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      // A complete head arrived: the handler answers at once. Once answered, the next request
      // on this connection gets a fresh deadline (a trickled body or an idle keep-alive ends there).
      this.#disarm(req.socket);
      res.once('finish', () => this.#arm(req.socket));
    });
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
    for (const t of this.#deadlines.values()) clearTimeout(t);
    this.#deadlines.clear();
  }

  /** Counts the connection against its IP (closing it over the cap) and starts its deadline. */
  #accept(socket: Socket): void {
    const ip = clientIp(socket.remoteAddress);
    const held = this.#perIp.get(ip) ?? 0;
    if (held >= this.#maxPerIp) {
      this.#refusedPerIp++;
      if (this.#refusedPerIp === 1 || this.#refusedPerIp % 1000 === 0)
        this.#log.warn(
          `${ip} holds ${held} connections (the per-IP cap); closed another (${this.#refusedPerIp} so far)`,
        );
      socket.destroy();
      return;
    }
    this.#perIp.set(ip, held + 1);
    this.#open++;
    socket.once('close', () => {
      this.#open--;
      this.#disarm(socket);
      const n = (this.#perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.#perIp.delete(ip);
      else this.#perIp.set(ip, n);
    });
    this.#arm(socket);
  }

  #arm(socket: Socket): void {
    if (socket.destroyed) return;
    this.#disarm(socket);
    const t = setTimeout(() => {
      this.#deadlines.delete(socket);
      this.#deadlineClosed++;
      socket.destroy();
    }, REQUEST_DEADLINE_MS);
    t.unref();
    this.#deadlines.set(socket, t);
  }

  #disarm(socket: Socket): void {
    const t = this.#deadlines.get(socket);
    if (t === undefined) return;
    clearTimeout(t);
    this.#deadlines.delete(socket);
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
    // Longer lifetimes are lowered, not refused: STUNner's clients ask for any ttl, and the
    // answer says what was granted.
    const query = { ...parsed.query, ttl: Math.min(parsed.query.ttl, this.#maxTtl) };
    const r = buildIceServers(
      this.#configs,
      this.publicAddresses,
      { ...query, envPublicAddr: this.#publicAddress },
      this.#nowSeconds(),
    );
    return r.ok ? { ok: true, query, servers: r.servers } : r;
  }

  #fail(res: ServerResponse, status: number, message: string): void {
    if (status >= 500) this.#log.error(message);
    send(res, status, { status, message });
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }
}

/** The client's IP, IPv4-mapped IPv6 addresses as IPv4 (one host, one count). */
function clientIp(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
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

/**
 * The HTTP server every demo server uses: users copy these servers into production, so a hostile
 * client must not be able to stop one, or starve its health endpoints.
 *
 * - A handler cannot throw out of the server: a throw or a rejected promise answers 400 (or, once
 *   the answer has started, ends the connection) and is logged.
 * - A request must arrive whole in time (headers in 10 s, the rest in 30 s) and its headers in
 *   16 KiB; a malformed request gets 400 (431 for headers too large) and the connection is closed.
 * - Connections are bounded per client IP (256) and in total (2,048), so that a slow or greedy
 *   client cannot hold every connection; the kubelet's probes come from the node's address.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { log } from './env.js';

export interface ServerLimits {
  /** Concurrent connections from one IP address. */
  readonly perIp: number;
  /** Concurrent connections in total. */
  readonly total: number;
  /** Time to receive a request's headers, in ms. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, in ms. */
  readonly requestTimeoutMs: number;
  /** Size of a request's headers, in bytes. */
  readonly maxHeaderBytes: number;
}

export const SERVER_LIMITS: ServerLimits = {
  perIp: 256,
  total: 2048,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxHeaderBytes: 16 * 1024,
};

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Answers `status` with a short text, unless an answer has started (then ends the connection). */
export function sendText(res: ServerResponse, status: number, body: string, type = 'text/plain'): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** A node:http server running `handler` within SERVER_LIMITS. */
export function createDemoServer(handler: Handler, limits: ServerLimits = SERVER_LIMITS): Server {
  const failed = (req: IncomingMessage, res: ServerResponse, e: unknown) => {
    log(
      `request ${req.method} ${JSON.stringify((req.url ?? '').slice(0, 100))} failed: ${(e as Error)?.message}`,
    );
    sendText(res, 400, 'bad request\n');
  };
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // how often the two deadlines above are checked
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      try {
        const p = handler(req, res);
        if (p !== undefined) p.catch((e: unknown) => failed(req, res, e));
      } catch (e) {
        failed(req, res, e);
      }
    },
  );
  server.keepAliveTimeout = 5_000;
  server.maxConnections = limits.total;
  const perIp = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const n = (perIp.get(ip) ?? 0) + 1;
    if (n > limits.perIp) {
      socket.destroy();
      return;
    }
    perIp.set(ip, n);
    socket.once('close', () => {
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
  });
  server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || e.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status =
      e.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : e.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () =>
      socket.destroy(),
    );
  });
  server.on('error', (e) => {
    log(`server error: ${e.message}`);
    process.exit(1);
  });
  return server;
}

/**
 * Reads a request body of at most `max` bytes. Resolves undefined when it is larger: then the
 * client has been answered 413 and nothing past `max` is kept. The rest of the body is read and
 * dropped for a while (so that the client, still sending, can read the answer), then the
 * connection is closed.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  max: number,
): Promise<Buffer | undefined> {
  const tooLarge = () => {
    sendText(res, 413, `request body larger than ${max} bytes\n`);
    let dropped = 0;
    const close = () => req.socket.destroy();
    const timer = setTimeout(close, DRAIN_MS);
    req.socket.once('close', () => clearTimeout(timer));
    req.on('data', (c: Buffer) => {
      dropped += c.length;
      if (dropped > DRAIN_BYTES) close();
    });
    req.resume();
  };
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) {
    tooLarge();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        chunks.length = 0;
        tooLarge();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size > max ? undefined : Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** After a 413: how long, and how much, of the rest of a body is read (and dropped) before closing. */
const DRAIN_MS = 2000;
const DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Hostile HTTP and WebSocket clients for the robustness suite (http-robustness.test.ts), and the
 * check that follows each probe: the server's process is alive and its health endpoint answers
 * 200 within 1 s, asked from an address of its own (as the kubelet asks from the node's).
 *
 * Every probe is bounded: in connections (a few hundred), in bytes, and in time (each exchange
 * gives up after a few seconds); traffic goes to loopback only.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** The health endpoint (the kubelet's probe), or `/`. */
  readonly health: string;
  /** Paths worth aiming bodies and bad JSON at. */
  readonly paths: readonly string[];
  /** The WebSocket endpoint, if the server has one. */
  readonly ws?: string;
  /** Whether the server's process is still running. */
  alive(): boolean;
}

/** The kubelet's address: health checks come from it, never from the attacker's. */
export const KUBELET_IP = '127.0.0.77';

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

/** GET `path` from `from`, given up after `ms`. Rejects on any failure, with the reason. */
export function get(t: Target, path: string, o: { from?: string; ms?: number } = {}): Promise<Answer> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: t.host,
        port: t.port,
        path,
        agent: false,
        localAddress: o.from ?? KUBELET_IP,
        timeout: o.ms ?? 1000,
        headers: { connection: 'close' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          if (body.length < 65536) body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - start }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.ms ?? 1000} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Throws "<name> is down: <why>" unless the process runs and its health endpoint answers 200
 * within `ms`. Returns how long the answer took.
 */
export async function assertUp(t: Target, ms = 1000): Promise<number> {
  if (!t.alive()) throw new Error(`${t.name} is down: its process exited`);
  let a: Answer;
  try {
    a = await get(t, t.health, { ms });
  } catch (e) {
    throw new Error(`${t.name} is down: GET ${t.health}: ${(e as Error).message}`);
  }
  if (a.status !== 200) throw new Error(`${t.name} is down: GET ${t.health} answered ${a.status}`);
  if (!t.alive()) throw new Error(`${t.name} is down: its process exited`);
  return a.ms;
}

export interface Exchange {
  /** What the server sent (up to 64 KiB). */
  readonly text: string;
  /** Whether the server closed the connection before we gave up. */
  readonly closed: boolean;
}

/** Opens a connection from `from`, or undefined if the server refuses it. */
export function open(t: Target, from: string, ms = 3000): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: t.host, port: t.port, localAddress: from });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, ms);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/** Sends `data` on a fresh connection and collects the answer until the server closes or `ms` pass. */
export async function exchange(
  t: Target,
  data: string | Buffer | readonly (string | Buffer)[],
  o: { from: string; ms?: number },
): Promise<Exchange> {
  const s = await open(t, o.from);
  if (s === undefined) return { text: '', closed: true };
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), o.ms ?? 3000);
    s.on('data', (b) => {
      if (text.length < 65536) text += b.toString('latin1');
    });
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    for (const d of Array.isArray(data) ? data : [data]) if (s.writable) s.write(d);
  });
}

/** Runs `f` over `items`, `width` at a time. */
export async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  f: (x: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width)
    out.push(...(await Promise.all(items.slice(i, i + width).map(f))));
  return out;
}

// ---- malformed request lines ----

/** Request lines and framing no correct client sends. */
export function malformedRequests(t: Target): string[] {
  const h = `Host: ${t.host}:${t.port}\r\n`;
  const lines = [
    'GET //[ HTTP/1.1',
    'GET //[::1 HTTP/1.1',
    'GET http://[ HTTP/1.1',
    'GET //%ZZ/%00/%E0%A4%A HTTP/1.1',
    'GET /?%=&&=%%%ZZ HTTP/1.1',
    'GET //user@[::1]:0/?a HTTP/1.1',
    'GET \\\\evil\\..\\..\\ HTTP/1.1',
    'OPTIONS * HTTP/1.1',
    'CONNECT 127.0.0.1:22 HTTP/1.1',
    'GET / HTTP/9.9',
    'GET / HTTP/1.1 extra',
    'GET  / HTTP/1.1',
    'G\u0000T / HTTP/1.1',
    'GET /\u0001\u007f HTTP/1.1',
    `GET /${'a'.repeat(20_000)} HTTP/1.1`,
    'BREW /pot HTCPCP/1.0',
  ];
  const out = lines.map((l) => `${l}\r\n${h}\r\n`);
  for (const p of t.paths)
    for (const suffix of ['//[', '/..%2f..%2f', '/../../x', '?%', '/%2e%2e/%2e%2e/x', '#frag', '%00'])
      out.push(
        `GET ${p}${suffix} HTTP/1.1\r\n${h}\r\n`,
        `POST ${p}${suffix} HTTP/1.1\r\n${h}Content-Length: 2\r\n\r\n{}`,
      );
  out.push(
    'GARBAGE\r\n\r\n',
    '\r\n\r\n\r\n\r\n',
    `GET / HTTP/1.1\r\n${h}Content-Length: -1\r\n\r\n`,
    `GET / HTTP/1.1\r\n${h}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
    `POST / HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
    `POST / HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n`,
    `GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`,
    `GET / HTTP/1.1\r\n${h}Bad Header\r\n\r\n`,
    `GET / HTTP/1.1\r\n${h}X: a\rb\r\n\r\n`,
    `GET / HTTP/1.1\n${h}\n`,
    randomBytes(4096).toString('latin1'),
  );
  return out;
}

// ---- oversized headers and bodies ----

export function oversizedHeaders(t: Target): string[] {
  const h = `GET ${t.health} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\n`;
  return [
    `${h}X-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    `${h}${Array.from({ length: 3000 }, (_, i) => `X-${i}: ${i}\r\n`).join('')}\r\n`,
    `${h}Cookie: ${'c=1; '.repeat(20_000)}\r\n\r\n`,
  ];
}

/** POSTs of `bytes` to each path: declared by Content-Length, and chunked. */
export function oversizedBodies(t: Target, bytes: number): (string | Buffer)[][] {
  const body = Buffer.alloc(bytes, 'x');
  const h = `Host: ${t.host}:${t.port}\r\nContent-Type: application/json\r\n`;
  const out: (string | Buffer)[][] = [];
  for (const p of t.paths) {
    out.push([`POST ${p} HTTP/1.1\r\n${h}Content-Length: ${bytes}\r\n\r\n`, body]);
    out.push([
      `POST ${p} HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\n\r\n`,
      `${bytes.toString(16)}\r\n`,
      body,
      '\r\n0\r\n\r\n',
    ]);
    // declares far more than it sends, then stops
    out.push([`POST ${p} HTTP/1.1\r\n${h}Content-Length: ${1024 ** 4}\r\n\r\n`, body.subarray(0, 65536)]);
  }
  return out;
}

// ---- bad JSON ----

export const BAD_JSON: readonly (string | Buffer)[] = [
  '',
  '{',
  'null',
  '[]',
  '"text"',
  '1e999999',
  'true',
  '{"id":null}',
  '{"id":{}}',
  '{"id":"register","name":{"toString":1}}',
  '{"id":"register","name":["a"]}',
  '{"id":"call","to":null}',
  '{"id":"onIceCandidate","candidate":{"a":1}}',
  '{"id":"incomingCallResponse","from":{}}',
  '{"__proto__":{"id":"register"},"constructor":{"prototype":{"polluted":1}}}',
  '{"janus":"create","transaction":{}}',
  `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
  `{"a":"${'\\u0000'.repeat(1000)}"}`,
  Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
];

export function badJsonPosts(t: Target): (string | Buffer)[][] {
  const out: (string | Buffer)[][] = [];
  for (const p of t.paths)
    for (const b of BAD_JSON) {
      const body = Buffer.isBuffer(b) ? b : Buffer.from(b);
      out.push([
        `POST ${p} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        body,
      ]);
    }
  return out;
}

// ---- WebSocket ----

/** A client frame: masked unless told otherwise. `len` overrides the declared length. */
export function frame(
  opcode: number,
  payload: Buffer | string,
  o: { fin?: boolean; rsv?: number; masked?: boolean; len?: number } = {},
): Buffer {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = o.len ?? data.length;
  const masked = o.masked ?? true;
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
  const m = masked ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(len));
    head.push(...b);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), data]);
  const key = randomBytes(4);
  const body = Buffer.from(data.map((x, i) => x ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** An upgrade request to `path`, from a page of the server's own origin. */
export function upgrade(t: Target, path: string, extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
    `Origin: http://${t.host}:${t.port}\r\n${extra}\r\n`
  );
}

/** Frames that break RFC 6455, each sent on its own upgraded connection. */
export function badFrames(): { what: string; bytes: Buffer }[] {
  const big = 300 * 1024;
  return [
    { what: 'an unmasked client frame', bytes: frame(1, '{"id":"stop"}', { masked: false }) },
    { what: 'reserved opcode 3', bytes: frame(3, 'x') },
    { what: 'reserved opcode 0xB', bytes: frame(0xb, 'x') },
    { what: 'the RSV1 bit (no extension agreed)', bytes: frame(1, '{}', { rsv: 4 }) },
    { what: 'RSV2 and RSV3', bytes: frame(1, '{}', { rsv: 3 }) },
    { what: 'invalid UTF-8 in a text frame', bytes: frame(1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])) },
    { what: 'a message over 256 KiB', bytes: frame(1, Buffer.alloc(big, 0x20)) },
    { what: 'a length of 2^63-1 declared', bytes: frame(2, 'x', { len: 2 ** 53 - 1 }).subarray(0, 14) },
    { what: 'a continuation with no message', bytes: frame(0, 'x') },
    { what: 'a fragmented ping', bytes: frame(9, 'x', { fin: false }) },
    { what: 'a ping over 125 bytes', bytes: frame(9, Buffer.alloc(200)) },
    { what: 'a close with an invalid code', bytes: frame(8, Buffer.from([0x03, 0xe7])) },
    { what: 'a close with a one-byte body', bytes: frame(8, Buffer.from([0x03])) },
    {
      what: 'a new message inside a fragmented one',
      bytes: Buffer.concat([frame(1, '{"id":', { fin: false }), frame(1, '"stop"}')]),
    },
  ];
}

/** Malformed or refused upgrade requests. */
export function badUpgrades(t: Target, path: string): string[] {
  const h = `Host: ${t.host}:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
  return [
    `GET ${path} HTTP/1.1\r\n${h}Sec-WebSocket-Version: 13\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\n${h}Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\n${h}Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 99\r\n\r\n`,
    `POST ${path} HTTP/1.1\r\n${h}Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    upgrade(t, path, 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99\r\n'),
    upgrade(t, `${path}//[`),
    upgrade(t, path, `Sec-WebSocket-Protocol: ${'p,'.repeat(2000)}p\r\n`),
  ];
}

// ---- slow clients and many connections ----

/**
 * Opens `n` connections from `from`, each sending half a request (no blank line) and then a
 * header byte now and then: a slowloris. Returns how many the server let open, and a stop.
 */
export async function slowloris(
  t: Target,
  n: number,
  from: string,
  first = `GET ${t.health} HTTP/1.1\r\nHost: ${t.host}\r\nX-a: `,
): Promise<{ opened: number; stillOpen(): number; stop(): void }> {
  const sockets = (await inBatches(Array.from({ length: n }), 64, () => open(t, from))).filter(
    (s): s is Socket => s !== undefined,
  );
  const open_ = new Set(sockets);
  for (const s of sockets) {
    s.on('error', () => {});
    s.on('close', () => open_.delete(s));
    s.write(first);
  }
  const drip = setInterval(() => {
    for (const s of open_) if (s.writable) s.write('a');
  }, 500);
  return {
    opened: sockets.length,
    stillOpen: () => open_.size,
    stop: () => {
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    },
  };
}

/** `n` requests at once from `from`, each on its own connection; the statuses (0: no answer). */
export async function concurrentGets(t: Target, n: number, from: string, path: string): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, () =>
      get(t, path, { from, ms: 5000 }).then(
        (a) => a.status,
        () => 0,
      ),
    ),
  );
}

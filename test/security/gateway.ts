/**
 * Shared by the security tests: our runtime as a child process with the pod's Node flags (so its
 * RSS and descriptors are its own, in /proc/<pid>), a config for one UDP and one TCP listener, and
 * bounded floods of raw STUN requests.
 */
import { createSocket, type Socket } from 'node:dgram';
import { fdCount, rssBytes } from '../../bench/proc.js';
import { RUNTIME_NODE_FLAGS } from '../../contract/pod-layout.js';
import {
  Attr,
  decodeErrorCode,
  decodeString,
  isParseError,
  longTermKey,
  MessageClass,
  Method,
  newTransactionId,
  parseStunMessage,
  StunMessageBuilder,
} from '../../runtime/stun/index.js';
import { freePort, freeTcpPort, httpGet } from '../helpers/net.js';
import { STUNNERD_BIN, type StunnerdProcess, startStunnerd } from '../helpers/stunnerd.js';

export const MiB = 1024 * 1024;
export const USER = 'user';
export const PASS = 'pass';
export const REALM = 'security';

export interface Gateway {
  readonly proc: StunnerdProcess;
  readonly pid: number;
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly metricsPort: number;
  readonly healthPort: number;
  rss(): number;
  fds(): number;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  readonly admin?: Record<string, unknown>;
  readonly auth?: Record<string, unknown>;
  readonly endpoints?: readonly string[];
}

/** The runtime (bin/stunnerd.mjs) with a UDP and a TCP listener on loopback, metrics and health on. */
export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const [udpPort, tcpPort, metricsPort, healthPort] = [
    await freePort(),
    await freePort(),
    await freeTcpPort(),
    await freeTcpPort(),
  ];
  const proc = await startStunnerd(
    {
      version: 'v1',
      admin: {
        name: 'security/gw',
        metrics_endpoint: `http://127.0.0.1:${metricsPort}/metrics`,
        healthcheck_endpoint: `http://127.0.0.1:${healthPort}`,
        ...opts.admin,
      },
      auth: opts.auth ?? { type: 'static', realm: REALM, credentials: { username: USER, password: PASS } },
      listeners: [
        { name: 'udp', protocol: 'TURN-UDP', address: '127.0.0.1', port: udpPort, routes: ['peers'] },
        { name: 'tcp', protocol: 'TURN-TCP', address: '127.0.0.1', port: tcpPort, routes: ['peers'] },
      ],
      clusters: [{ name: 'peers', endpoints: [...(opts.endpoints ?? ['127.0.0.1/32'])] }],
    },
    { launcher: [process.execPath, ...RUNTIME_NODE_FLAGS, STUNNERD_BIN] },
  );
  const pid = proc.proc.pid!;
  return {
    proc,
    pid,
    udpPort,
    tcpPort,
    metricsPort,
    healthPort,
    rss: () => rssBytes(pid),
    fds: () => fdCount(pid),
    metrics: async () => (await httpGet(metricsPort, '/metrics')).text(),
    stop: async () => {
      await proc.stop();
    },
  };
}

export interface FloodStats {
  sent: number;
  answered: number;
  /** Answer codes seen (0 = success), with their counts. */
  codes: Map<number, number>;
  rttP50Ms: number;
  rttP99Ms: number;
  maxAnswerBytes: number;
}

/**
 * Sends `total` Allocate requests to a UDP port from `sockets` source ports, `window` in flight per
 * socket, each built by `make` (a fresh transaction ID each time); bounded by `timeMs` overall.
 */
export async function flood(
  port: number,
  total: number,
  make: (txid: Buffer) => Buffer,
  opts: {
    sockets?: number;
    window?: number;
    timeMs?: number;
    host?: string;
    /** Per source socket, before its requests: returns the request builder for that socket. */
    perSocket?: (s: Socket) => Promise<(txid: Buffer) => Buffer>;
  } = {},
): Promise<FloodStats> {
  const sockets = opts.sockets ?? 50;
  const window = opts.window ?? 8;
  const deadline = Date.now() + (opts.timeMs ?? 20_000);
  const stats: FloodStats = {
    sent: 0,
    answered: 0,
    codes: new Map(),
    rttP50Ms: 0,
    rttP99Ms: 0,
    maxAnswerBytes: 0,
  };
  const rtts: number[] = [];
  const per = Math.ceil(total / sockets);
  await Promise.all(
    Array.from({ length: sockets }, async () => {
      const s = createSocket('udp4');
      s.on('error', () => {});
      await new Promise<void>((r) => s.bind(0, opts.host ?? '127.0.0.1', r));
      const build = opts.perSocket ? await opts.perSocket(s) : make;
      const pending = new Map<string, number>();
      let mine = 0;
      await new Promise<void>((resolve) => {
        let idle: NodeJS.Timeout | undefined;
        let closed = false;
        const finish = (): void => {
          clearTimeout(idle);
          if (closed) return;
          closed = true;
          s.close();
          resolve();
        };
        const fire = (): void => {
          if (closed) return;
          while (pending.size < window && mine < per && stats.sent < total && Date.now() < deadline) {
            const txid = newTransactionId();
            pending.set(txid.toString('hex'), performance.now());
            s.send(build(txid), port, '127.0.0.1');
            mine++;
            stats.sent++;
          }
          clearTimeout(idle);
          if (pending.size === 0) {
            finish();
            return;
          }
          // a dropped request must not stall this socket: give up on it after 500 ms of silence
          idle = setTimeout(finish, 500);
        };
        s.on('message', (m) => {
          const msg = parseStunMessage(m);
          if (isParseError(msg)) return;
          const k = msg.transactionKey();
          const t0 = pending.get(k);
          if (t0 === undefined) return;
          pending.delete(k);
          rtts.push(performance.now() - t0);
          stats.answered++;
          if (m.length > stats.maxAnswerBytes) stats.maxAnswerBytes = m.length;
          const ec = msg.get(Attr.ERROR_CODE);
          const code =
            msg.cls === MessageClass.SUCCESS ? 0 : ec ? (decodeErrorCode(msg, ec)?.code ?? -1) : -1;
          stats.codes.set(code, (stats.codes.get(code) ?? 0) + 1);
          fire();
        });
        fire();
      });
    }),
  );
  rtts.sort((a, b) => a - b);
  stats.rttP50Ms = rtts[Math.floor(rtts.length * 0.5)] ?? 0;
  stats.rttP99Ms = rtts[Math.floor(rtts.length * 0.99)] ?? 0;
  return stats;
}

/** An unauthenticated Allocate (what a scanner sends). */
export function unauthenticatedAllocate(txid: Buffer): Buffer {
  return new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, txid)
    .addRequestedTransport(17)
    .addUint32(Attr.LIFETIME, 600)
    .build();
}

/**
 * Realm and nonce from a 401, for building authenticated requests by hand. A nonce is only good
 * from the socket that got it (the runtime binds it to the client's address): pass that socket.
 */
export async function challenge(port: number, socket?: Socket): Promise<{ realm: string; nonce: string }> {
  const s = socket ?? createSocket('udp4');
  if (!socket) await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  try {
    const got = new Promise<Buffer>((resolve, reject) => {
      s.once('message', resolve);
      setTimeout(() => reject(new Error('no 401 within 2 s')), 2000);
    });
    s.send(unauthenticatedAllocate(newTransactionId()), port, '127.0.0.1');
    const m = parseStunMessage(await got);
    if (isParseError(m)) throw new Error(m.error);
    const realm = decodeString(m, m.get(Attr.REALM)!)!;
    const nonce = decodeString(m, m.get(Attr.NONCE)!)!;
    return { realm, nonce };
  } finally {
    if (!socket) s.close();
  }
}

/** Per flood socket: its own nonce, then Allocates signed with a wrong password. */
export async function wrongPasswordFrom(port: number, s: Socket): Promise<(txid: Buffer) => Buffer> {
  const { realm, nonce } = await challenge(port, s);
  return wrongPasswordAllocate(realm, nonce);
}

/** An Allocate with the right username, realm and nonce but MESSAGE-INTEGRITY from a wrong password. */
export function wrongPasswordAllocate(realm: string, nonce: string): (txid: Buffer) => Buffer {
  const key = longTermKey(USER, realm, 'not-the-password');
  return (txid) =>
    new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, txid)
      .addRequestedTransport(17)
      .addString(Attr.USERNAME, USER)
      .addString(Attr.REALM, realm)
      .addString(Attr.NONCE, nonce)
      .build({ integrityKey: key });
}

/** Lets the runtime's GC settle: RSS after a short idle period. */
export async function settledRss(g: Gateway, ms = 1500): Promise<number> {
  await new Promise((r) => setTimeout(r, ms));
  return g.rss();
}

/**
 * TURN-TCP and TURN-TLS listeners: STUN messages and ChannelData frames on a byte stream
 * (RFC 8656 sec 12.5). One allocation per connection, indexed in the allocation table by the
 * connection's key; it goes away with the connection.
 * A framing error (garbage, oversize frame) closes the connection, never the listener.
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { ListenerConfig } from '../../../contract/config/index.js';
import type { ScopedLogger } from '../../log/logger.js';
import { SEND_INDICATION, StreamFramer } from '../../stun/index.js';
import type { Allocation } from '../../turn/allocation.js';
import type { AllocationTable } from '../../turn/allocation-table.js';
import { relayChannelData, relaySendIndication } from '../../turn/fast-path.js';
import type { RequestSource, TurnServer } from '../../turn/server.js';
import type { ListenerStats } from '../../turn/stats.js';
import { StreamClientLink } from '../client-link.js';
import { bound, Listener } from '../listener.js';

/**
 * A connection must deliver its first complete frame within this time of being accepted, however
 * it trickles; without an allocation it is also closed after this long idle.
 */
export const FIRST_FRAME_MS = 10_000;
/** A frame begun must be complete within this time; more bytes of it do not extend the deadline. */
export const FRAME_MS = 5_000;
/** Bound on concurrent connections per listener (lowered to the descriptor budget, see fd-limit.ts). */
export const MAX_CONNECTIONS = 20_000;
/** How often deadlines are checked: they are enforced to within this. */
const SWEEP_MS = 500;

/** Per-client-IP limits of a stream listener (admin.max_connections_per_ip, admin.new_connections_per_ip). */
export interface StreamLimits {
  /** Concurrent connections from one IP; 0 = unlimited. */
  readonly perIp: number;
  /** New connections per second from one IP (bursts up to twice that); 0 = unlimited. */
  readonly ratePerIp: number;
  /** Concurrent connections on the listener. */
  readonly maxConnections: number;
  readonly firstFrameMs: number;
  readonly frameMs: number;
}

let nextConnId = 1;

class Connection implements RequestSource {
  readonly link: StreamClientLink;
  readonly framer: StreamFramer;
  /** The connection is the client: its key in the allocation table is its text key. */
  readonly clientKey: string;
  readonly textKey: string;
  private readonly clients: ReadonlyMap<number | string, Allocation>;
  /** Deadlines: when it was accepted, and when the frame now being assembled began (0: none). */
  readonly acceptedAt = Date.now();
  partialSince = 0;
  sawFrame = false;

  constructor(
    readonly listener: StreamListener,
    readonly socket: Socket,
  ) {
    const family = socket.remoteFamily === 'IPv6' ? 6 : 4;
    const transport = listener.protocol === 'TURN-TLS' ? 'tls' : 'tcp';
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    this.link = new StreamClientLink(transport, socket, address, port, family, listener.stats);
    this.textKey = `${transport}:${address}:${port}#${nextConnId++}`;
    this.clientKey = this.textKey;
    this.clients = listener.table.clients(listener);
    this.framer = new StreamFramer(this.onFrame, this.onFramingError);
  }

  allocation(): Allocation | undefined {
    return this.clients.get(this.clientKey);
  }

  /** False once the connection is gone (an Allocate that completes later is undone). */
  isOpen(): boolean {
    return !this.socket.destroyed;
  }

  readonly onData = (chunk: Buffer): void => {
    const stats = this.listener.stats;
    stats.rxBytes += chunk.length;
    const framer = this.framer;
    const before = framer.frames;
    framer.push(chunk);
    // A frame deadline starts with the frame's first byte; trickling more of it does not move it.
    if (framer.frames !== before) {
      this.sawFrame = true;
      this.partialSince = framer.buffered > 0 ? Date.now() : 0;
    } else if (this.partialSince === 0 && framer.buffered > 0) {
      this.partialSince = Date.now();
    }
  };

  /** Why the connection is past a deadline at `now`, or undefined. */
  overdue(now: number, limits: StreamLimits): 'first frame' | 'partial frame' | undefined {
    if (!this.sawFrame && now - this.acceptedAt > limits.firstFrameMs) return 'first frame';
    if (this.partialSince !== 0 && now - this.partialSince > limits.frameMs) return 'partial frame';
    return undefined;
  }

  private readonly onFrame = (buf: Buffer, start: number, end: number): void => {
    this.listener.stats.rxPackets++;
    const b0 = buf[start]!;
    const a = this.allocation();
    if ((b0 & 0xc0) === 0x40) {
      if (a !== undefined) relayChannelData(a, buf, start, end);
      return;
    }
    if (a !== undefined && ((b0 << 8) | buf[start + 1]!) === SEND_INDICATION) {
      if (relaySendIndication(a, buf, start, end)) return;
    }
    this.listener.turn.handle(this, buf, start, end);
  };

  private readonly onFramingError = (reason: string): void => {
    this.listener.log.debug(`closing ${this.textKey} on listener ${this.listener.name}: ${reason}`);
    this.socket.destroy();
  };

  closed(): void {
    const a = this.allocation();
    if (a !== undefined) this.listener.table.remove(a, 'connection closed');
  }
}

/** A token bucket per IP: `tokens` at time `at`. */
interface Bucket {
  tokens: number;
  at: number;
}

export class StreamListener extends Listener {
  private netServer: Server | undefined;
  private readonly conns = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private sweeper: NodeJS.Timeout | undefined;
  private limits: StreamLimits;

  constructor(
    config: ListenerConfig,
    stats: ListenerStats,
    readonly turn: TurnServer,
    readonly table: AllocationTable,
    readonly log: ScopedLogger,
    limits: Partial<StreamLimits> = {},
  ) {
    super(config, stats);
    this.limits = {
      perIp: limits.perIp ?? 0,
      ratePerIp: limits.ratePerIp ?? 0,
      maxConnections: limits.maxConnections ?? MAX_CONNECTIONS,
      firstFrameMs: limits.firstFrameMs ?? FIRST_FRAME_MS,
      frameMs: limits.frameMs ?? FRAME_MS,
    };
  }

  /** New per-IP limits (admin config changed); connections already open stay. */
  setLimits(limits: Partial<StreamLimits>): void {
    this.limits = { ...this.limits, ...limits };
    if (this.netServer) this.netServer.maxConnections = this.limits.maxConnections;
  }

  isOpen(): boolean {
    return this.netServer !== undefined;
  }

  async start(): Promise<void> {
    const onConnection = (socket: Socket) => this.accept(socket);
    let srv: Server;
    if (this.protocol === 'TURN-TLS') {
      const cert = Buffer.from(this.config.cert ?? '', 'base64');
      const key = Buffer.from(this.config.key ?? '', 'base64');
      srv = createTlsServer({ cert, key, handshakeTimeout: 10_000 }, onConnection);
      srv.on('tlsClientError', (e: Error) =>
        this.log.debug(`TLS handshake failed on ${this.name}: ${e.message}`),
      );
    } else {
      srv = createNetServer({ noDelay: true }, onConnection);
    }
    srv.maxConnections = this.limits.maxConnections;
    srv.on('drop', () => {
      this.stats.refusedListenerCap++;
    });
    await bound(srv, (done) =>
      srv.listen({ port: this.config.port, host: this.config.address, exclusive: true }, done),
    );
    srv.on('error', (e) => this.log.error(`listener ${this.name}: ${e.message}`));
    this.netServer = srv;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Closes connections past a deadline and forgets idle rate buckets. */
  private sweep(): void {
    const now = Date.now();
    for (const c of this.conns) {
      const why = c.overdue(now, this.limits);
      if (why === undefined) continue;
      if (why === 'first frame') this.stats.closedFirstFrameDeadline++;
      else this.stats.closedFrameDeadline++;
      this.log.debug(`closing ${c.textKey} on listener ${this.name}: no complete ${why} in time`);
      c.socket.destroy();
    }
    for (const [ip, b] of this.buckets) if (now - b.at > 10_000) this.buckets.delete(ip);
  }

  /** Per-IP admission of a new connection: the cap and the rate; counts a refusal. */
  private admitIp(ip: string): boolean {
    const { perIp, ratePerIp } = this.limits;
    if (perIp > 0 && (this.perIp.get(ip) ?? 0) >= perIp) {
      this.stats.refusedPerIpCap++;
      return false;
    }
    if (ratePerIp > 0) {
      const now = Date.now();
      const burst = ratePerIp * 2;
      let b = this.buckets.get(ip);
      if (b === undefined) {
        b = { tokens: burst, at: now };
        this.buckets.set(ip, b);
      }
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerIp);
      b.at = now;
      if (b.tokens < 1) {
        this.stats.refusedPerIpRate++;
        return false;
      }
      b.tokens -= 1;
    }
    return true;
  }

  get port(): number {
    const a = this.netServer?.address();
    return a && typeof a === 'object' ? a.port : this.config.port;
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    if (!this.admitIp(ip)) {
      socket.destroy();
      return;
    }
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    socket.setNoDelay(true);
    const conn = new Connection(this, socket);
    this.conns.add(conn);
    this.stats.connections++;
    this.stats.connectionsTotal++;
    socket.setTimeout(this.limits.firstFrameMs, () => {
      // Idle without an allocation: close. With one, the allocation lifetime governs.
      if (conn.allocation() === undefined) socket.destroy();
    });
    socket.on('data', conn.onData);
    socket.on('error', () => {});
    socket.once('close', () => {
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
      this.conns.delete(conn);
      this.stats.connections--;
      conn.closed();
    });
  }

  /** Closes the server and every connection (their allocations go with them). */
  async close(): Promise<void> {
    const srv = this.netServer;
    this.netServer = undefined;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const c of this.conns) c.socket.destroy();
    if (!srv) return;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

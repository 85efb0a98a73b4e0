/**
 * TURN-TCP and TURN-TLS listeners: STUN messages and ChannelData frames on a byte stream
 * (RFC 8656 sec 12.5). One allocation per connection, indexed in the allocation table by the
 * connection's key; it goes away with the connection.
 * A framing error (garbage, oversize frame) closes the connection, never the listener.
 *
 * Both listen with a plain TCP server: the per-IP cap and rate and the first-frame deadline apply
 * at TCP accept, before any TLS work. A TURN-TLS listener then hands each admitted socket to a
 * TLS server that never listens itself (its 'connection' event), whose certificate can be swapped
 * in place; a TLS error, in the handshake or after it (renegotiation), closes the connection.
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
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
import { tlsServerOptions } from './tls.js';

/**
 * A connection must deliver its first complete frame within this time of being accepted at TCP
 * level (a TLS handshake counts against it), however it trickles; without an allocation it is also
 * closed after this long idle.
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
  /** Set once the connection carries frames: at accept (TCP), after the handshake (TLS). */
  link!: StreamClientLink;
  /** The socket frames travel on: the TCP socket, or its TLS socket once secure. */
  socket: Socket;
  readonly framer: StreamFramer;
  /** The connection is the client: its key in the allocation table is its text key. */
  readonly clientKey: string;
  readonly textKey: string;
  private readonly clients: ReadonlyMap<number | string, Allocation>;
  /** Deadlines: when it was accepted, and when the frame now being assembled began (0: none). */
  readonly acceptedAt = Date.now();
  partialSince = 0;
  sawFrame = false;

  private readonly transport: 'tcp' | 'tls';
  private readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;

  constructor(
    readonly listener: StreamListener,
    /** The accepted TCP socket; closing it ends the connection, TLS or not. */
    readonly tcp: Socket,
  ) {
    this.socket = tcp;
    this.family = tcp.remoteFamily === 'IPv6' ? 6 : 4;
    this.transport = listener.protocol === 'TURN-TLS' ? 'tls' : 'tcp';
    this.address = tcp.remoteAddress ?? '';
    this.port = tcp.remotePort ?? 0;
    this.textKey = `${this.transport}:${this.address}:${this.port}#${nextConnId++}`;
    this.clientKey = this.textKey;
    this.clients = listener.table.clients(listener);
    this.framer = new StreamFramer(this.onFrame, this.onFramingError);
  }

  /** Frames start flowing on `socket` (the TCP socket, or the TLS socket after its handshake). */
  carry(socket: Socket, idleMs: number): void {
    this.socket = socket;
    this.link = new StreamClientLink(
      this.transport,
      socket,
      this.address,
      this.port,
      this.family,
      this.listener.stats,
    );
    socket.setTimeout(idleMs, () => {
      // Idle without an allocation: close. With one, the allocation lifetime governs.
      if (this.allocation() === undefined) this.destroy();
    });
    socket.on('data', this.onData);
  }

  /** Closes the connection: the TLS socket (if any) and the TCP socket under it. */
  destroy(): void {
    this.socket.destroy();
    this.tcp.destroy();
  }

  allocation(): Allocation | undefined {
    return this.clients.get(this.clientKey);
  }

  /** False once the connection is gone (an Allocate that completes later is undone). */
  isOpen(): boolean {
    return !this.socket.destroyed && !this.tcp.destroyed;
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
    this.destroy();
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
  /** TURN-TLS: the TLS server the admitted TCP sockets are handed to; it never listens itself. */
  private tlsServer: TlsServer | undefined;
  /** TURN-TLS connections in their handshake, by the client's address and port. */
  private readonly handshaking = new Map<string, Connection>();
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
    // A cert and key that cannot serve fail here, before anything binds.
    if (this.protocol === 'TURN-TLS') this.tlsServer = this.createTls(config);
  }

  /** New per-IP limits (admin config changed); connections already open stay. */
  setLimits(limits: Partial<StreamLimits>): void {
    this.limits = { ...this.limits, ...limits };
    if (this.netServer) this.netServer.maxConnections = this.limits.maxConnections;
  }

  /**
   * As Listener.reconfigure, and a TURN-TLS listener takes a new certificate and key in place:
   * new connections get them, open connections keep theirs. A pair that cannot serve is refused
   * (thrown) and the previous pair keeps serving; the rest of the config still applies.
   */
  override reconfigure(config: ListenerConfig): boolean {
    const tls = this.tlsServer;
    const newPair =
      (config.cert ?? '') !== (this.config.cert ?? '') || (config.key ?? '') !== (this.config.key ?? '');
    if (tls === undefined || !newPair) return super.reconfigure(config);
    try {
      tls.setSecureContext(tlsServerOptions(config));
    } catch (e) {
      super.reconfigure({ ...config, cert: this.config.cert, key: this.config.key });
      throw new Error(
        `listener ${this.name}: new TLS certificate refused, the previous one keeps serving: ${(e as Error).message}`,
      );
    }
    super.reconfigure(config);
    this.log.info(`listener ${this.name}: TLS certificate replaced; open connections keep theirs`);
    return true;
  }

  isOpen(): boolean {
    return this.netServer !== undefined;
  }

  private createTls(config: ListenerConfig): TlsServer {
    let options: ReturnType<typeof tlsServerOptions>;
    try {
      options = tlsServerOptions(config);
    } catch (e) {
      throw new Error(`listener ${config.name}: ${(e as Error).message}`);
    }
    const tls = createTlsServer(options);
    tls.on('secureConnection', (s: TLSSocket) => this.secured(s));
    // A failed handshake (or its timeout) closes the connection; only then does it free its slot.
    tls.on('tlsClientError', (e: Error, s: TLSSocket) => {
      this.stats.closedTlsError++;
      this.log.debug(`TLS handshake failed on ${this.name}: ${e.message}`);
      s.destroy();
    });
    tls.on('error', (e) => this.log.error(`listener ${this.name}: ${e.message}`));
    return tls;
  }

  async start(): Promise<void> {
    const srv = createNetServer({ noDelay: true }, (socket: Socket) => this.accept(socket));
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
      c.destroy();
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

  /**
   * A TCP connection arrives: the per-IP limits apply and its deadlines start here, before any TLS
   * work (each new connection is a handshake: the rate limit is the per-IP handshake rate).
   */
  private accept(socket: Socket): void {
    socket.on('error', () => {});
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
    const hs = handshakeKey(conn.address, conn.port);
    socket.once('close', () => {
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
      if (this.handshaking.get(hs) === conn) this.handshaking.delete(hs);
      this.conns.delete(conn);
      this.stats.connections--;
      conn.destroy();
      conn.closed();
    });
    if (this.tlsServer === undefined) {
      conn.carry(socket, this.limits.firstFrameMs);
      return;
    }
    this.handshaking.set(hs, conn);
    this.tlsServer.emit('connection', socket);
  }

  /** A TLS handshake completed: frames flow on the TLS socket; any later TLS error closes it. */
  private secured(s: TLSSocket): void {
    const hs = handshakeKey(s.remoteAddress ?? '', s.remotePort ?? 0);
    const conn = this.handshaking.get(hs);
    this.handshaking.delete(hs);
    s.on('error', (e: Error) => {
      // e.g. ERR_TLS_RENEGOTIATION_DISABLED: a client-initiated renegotiation.
      if ((e as NodeJS.ErrnoException).syscall === undefined) this.stats.closedTlsError++;
      this.log.debug(`TLS error on ${conn?.textKey ?? this.name}: ${e.message}`);
      s.destroy();
    });
    if (conn === undefined || conn.tcp.destroyed) {
      s.destroy();
      return;
    }
    s.disableRenegotiation();
    s.once('close', () => conn.tcp.destroy());
    conn.carry(s, this.limits.firstFrameMs);
  }

  /** Closes the server and every connection (their allocations go with them). */
  async close(): Promise<void> {
    const srv = this.netServer;
    this.netServer = undefined;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const c of this.conns) c.destroy();
    if (!srv) return;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

function handshakeKey(address: string, port: number): string {
  return `${address}|${port}`;
}

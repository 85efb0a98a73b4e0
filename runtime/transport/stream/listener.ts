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

/** Connections that have not sent a frame within this time are closed. */
export const IDLE_HANDSHAKE_MS = 30_000;
/** Bound on concurrent connections per listener. */
export const MAX_CONNECTIONS = 20_000;

let nextConnId = 1;

class Connection implements RequestSource {
  readonly link: StreamClientLink;
  readonly framer: StreamFramer;
  /** The connection is the client: its key in the allocation table is its text key. */
  readonly clientKey: string;
  readonly textKey: string;
  private readonly clients: ReadonlyMap<number | string, Allocation>;

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
    this.framer.push(chunk);
  };

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

export class StreamListener extends Listener {
  private netServer: Server | undefined;
  private readonly conns = new Set<Connection>();

  constructor(
    config: ListenerConfig,
    stats: ListenerStats,
    readonly turn: TurnServer,
    readonly table: AllocationTable,
    readonly log: ScopedLogger,
  ) {
    super(config, stats);
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
    srv.maxConnections = MAX_CONNECTIONS;
    await bound(srv, (done) =>
      srv.listen({ port: this.config.port, host: this.config.address, exclusive: true }, done),
    );
    srv.on('error', (e) => this.log.error(`listener ${this.name}: ${e.message}`));
    this.netServer = srv;
  }

  get port(): number {
    const a = this.netServer?.address();
    return a && typeof a === 'object' ? a.port : this.config.port;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const conn = new Connection(this, socket);
    this.conns.add(conn);
    this.stats.connections++;
    this.stats.connectionsTotal++;
    socket.setTimeout(IDLE_HANDSHAKE_MS, () => {
      // Idle without an allocation: close. With one, the allocation lifetime governs.
      if (conn.allocation() === undefined) socket.destroy();
    });
    socket.on('data', conn.onData);
    socket.on('error', () => {});
    socket.once('close', () => {
      this.conns.delete(conn);
      this.stats.connections--;
      conn.closed();
    });
  }

  /** Closes the server and every connection (their allocations go with them). */
  async close(): Promise<void> {
    const srv = this.netServer;
    this.netServer = undefined;
    for (const c of this.conns) c.socket.destroy();
    if (!srv) return;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

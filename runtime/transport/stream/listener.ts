/**
 * TURN-TCP and TURN-TLS listeners: STUN messages and ChannelData frames on a byte stream
 * (RFC 8656 sec 12.5). One allocation per connection; it goes away with the connection.
 * A framing error (garbage, oversize frame) closes the connection, never the listener.
 */
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { ListenerConfig, ListenerProtocol } from '../../../contract/config/index.js';
import type { ScopedLogger } from '../../log/logger.js';
import { StreamFramer } from '../../stun/index.js';
import type { Allocation } from '../../turn/allocation.js';
import type { AllocationManager } from '../../turn/allocation-table.js';
import { relayChannelData, relaySendIndication, SEND_INDICATION } from '../../turn/fast-path.js';
import type { RequestSource, TurnListener, TurnServer } from '../../turn/server.js';
import type { ListenerStats } from '../../turn/stats.js';
import { StreamClientLink } from '../client-link.js';
import { type RelayAddressing, relayAddressing } from '../relay-address.js';

/** Connections that have not sent a frame within this time are closed. */
export const IDLE_HANDSHAKE_MS = 30_000;
/** Bound on concurrent connections per listener. */
export const MAX_CONNECTIONS = 20_000;

let nextConnId = 1;

class Connection implements RequestSource {
  allocation_: Allocation | undefined;
  readonly link: StreamClientLink;
  readonly framer: StreamFramer;
  readonly clientKey = undefined;
  readonly textKey: string;

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
    this.framer = new StreamFramer(this.onFrame, this.onFramingError);
  }

  allocation(): Allocation | undefined {
    const a = this.allocation_;
    if (a?.closed) this.allocation_ = undefined;
    return this.allocation_;
  }

  adopt(a: Allocation): void {
    if (this.socket.destroyed) {
      this.listener.manager.remove(a, 'connection closed');
      return;
    }
    this.allocation_ = a;
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
    const a = this.allocation_;
    this.allocation_ = undefined;
    if (a !== undefined) this.listener.manager.remove(a, 'connection closed');
  }
}

export class StreamListener implements TurnListener {
  readonly allocations = new Map<number | string, Allocation>();
  readonly pendingAllocates = new Set<number | string>();
  readonly protocol: ListenerProtocol;
  readonly name: string;
  minRelayPort: number | undefined;
  maxRelayPort: number | undefined;
  private readonly addressing: RelayAddressing;
  private netServer: Server | undefined;
  private readonly conns = new Set<Connection>();

  constructor(
    public config: ListenerConfig,
    readonly stats: ListenerStats,
    readonly turn: TurnServer,
    readonly manager: AllocationManager,
    readonly log: ScopedLogger,
  ) {
    this.name = config.name;
    this.protocol = config.protocol;
    this.minRelayPort = config.min_relay_port;
    this.maxRelayPort = config.max_relay_port;
    this.addressing = relayAddressing(config.address);
  }

  /** Applies the parts of a new config that need no restart (relay port range). */
  update(config: ListenerConfig): void {
    this.config = config;
    this.minRelayPort = config.min_relay_port;
    this.maxRelayPort = config.max_relay_port;
  }

  isOpen(): boolean {
    return this.netServer !== undefined;
  }

  relayBindAddress(family: 4 | 6): string | undefined {
    return this.addressing.bind(family);
  }

  relayAddress(family: 4 | 6): string {
    return this.addressing.report(family);
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
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      srv.once('error', onError);
      srv.listen({ port: this.config.port, host: this.config.address, exclusive: true }, () => {
        srv.off('error', onError);
        resolve();
      });
    });
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

/**
 * TURN-UDP listener. Every datagram is dispatched on its first byte: 0x40-0x7F is ChannelData
 * (hot path), 0x00-0x01 is STUN (Send indications take a fast path, the rest goes to the control
 * path), anything else is dropped. Clients are keyed by a number (ip32 * 65536 + port).
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { ListenerConfig } from '../../../contract/config/index.js';
import { SEND_INDICATION } from '../../stun/constants.js';
import { intToIpv4 } from '../../stun/ip.js';
import type { Allocation } from '../../turn/allocation.js';
import type { AllocationTable } from '../../turn/allocation-table.js';
import { relayChannelData, relaySendIndication } from '../../turn/fast-path.js';
import type { RequestSource, TurnServer } from '../../turn/server.js';
import type { ListenerStats } from '../../turn/stats.js';
import { UdpClientLink } from '../client-link.js';
import { bound, Listener } from '../listener.js';
import { type DatagramHandler, durable, onDatagram } from './receive.js';
import { literalSocket, raiseBuffers } from './relay-socket.js';

export const LISTENER_BUFFER_BYTES = 4 << 20;

export class UdpListener extends Listener {
  private readonly family: 4 | 6;
  private socket: UdpSocket | undefined;
  private detach: (() => void) | undefined;
  /** The allocation table's 5-tuple index of this listener: read here, written only there. */
  private readonly allocations: ReadonlyMap<number | string, Allocation>;

  constructor(
    config: ListenerConfig,
    stats: ListenerStats,
    private readonly server: TurnServer,
    table: AllocationTable,
    /** Share the port with other relay threads (SO_REUSEPORT; Node >= 22.12). */
    private readonly reusePort = false,
  ) {
    super(config, stats);
    this.family = config.address.includes(':') ? 6 : 4;
    this.allocations = table.clients(this);
  }

  isOpen(): boolean {
    return this.socket !== undefined;
  }

  async start(): Promise<void> {
    const s = literalSocket(this.family, this.reusePort);
    await bound(s, (done) =>
      s.bind({ port: this.config.port, address: this.config.address, exclusive: true }, done),
    );
    raiseBuffers(s, LISTENER_BUFFER_BYTES);
    this.detach = onDatagram(s, this.onMessage);
    this.socket = s;
  }

  /** The bound port (useful with port 0 in tests). */
  get port(): number {
    return this.socket?.address().port ?? this.config.port;
  }

  private readonly onMessage: DatagramHandler = (buf, start, end, ip, port, rinfo): void => {
    const stats = this.stats;
    const len = end - start;
    stats.rxPackets++;
    stats.rxBytes += len;
    if (len < 4) return;
    const b0 = buf[start]!;
    // IPv4 clients are keyed by number; IPv6 ones (IPv6 sockets, always with rinfo) by text.
    if ((b0 & 0xc0) === 0x40) {
      const a = this.allocations.get(ip >= 0 ? ip * 65536 + port : `${rinfo!.address}|${port}`);
      if (a !== undefined) relayChannelData(a, buf, start, end);
      return;
    }
    if ((b0 & 0xc0) !== 0) return;
    const key = ip >= 0 ? ip * 65536 + port : `${rinfo!.address}|${port}`;
    if (((b0 << 8) | buf[start + 1]!) === SEND_INDICATION) {
      const a = this.allocations.get(key);
      if (a === undefined) return;
      if (relaySendIndication(a, buf, start, end)) return;
    }
    // The control path may keep the message past this call (e.g. across an Allocate's await).
    const msg = durable(buf.subarray(start, end));
    this.control(key, ip >= 0 ? intToIpv4(ip) : rinfo!.address, port, ip >= 0 ? 4 : 6, msg);
  };

  /** Everything that is not hot: requests and unusual indications. */
  private control(key: number | string, address: string, port: number, family: 4 | 6, msg: Buffer): void {
    const socket = this.socket;
    if (socket === undefined) return;
    const existing = this.allocations.get(key);
    const link = existing?.link ?? new UdpClientLink(socket, address, port, family, this.stats);
    const allocations = this.allocations;
    const src: RequestSource = {
      listener: this,
      link,
      clientKey: key,
      textKey: `udp:${address}:${port}`,
      allocation: () => allocations.get(key),
    };
    this.server.handle(src, msg, 0, msg.length);
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s) return;
    this.detach?.();
    this.detach = undefined;
    await new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

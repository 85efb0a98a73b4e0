/**
 * TURN-UDP listener. Every datagram is dispatched on its first byte: 0x40-0x7F is ChannelData
 * (hot path), 0x00-0x01 is STUN (Send indications take a fast path, the rest goes to the control
 * path), anything else is dropped. Clients are keyed by a number (ip32 * 65536 + port).
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { ListenerConfig, ListenerProtocol } from '../../../contract/config/index.js';
import { intToIpv4 } from '../../stun/ip.js';
import type { Allocation } from '../../turn/allocation.js';
import { relayChannelData, relaySendIndication, SEND_INDICATION } from '../../turn/fast-path.js';
import type { RequestSource, TurnListener, TurnServer } from '../../turn/server.js';
import type { ListenerStats } from '../../turn/stats.js';
import { UdpClientLink } from '../client-link.js';
import { type RelayAddressing, relayAddressing } from '../relay-address.js';
import { type DatagramHandler, durable, onDatagram } from './receive.js';
import { literalSocket, raiseBuffers } from './relay-socket.js';

export const LISTENER_BUFFER_BYTES = 4 << 20;

export class UdpListener implements TurnListener {
  readonly allocations = new Map<number | string, Allocation>();
  readonly pendingAllocates = new Set<number | string>();
  readonly protocol: ListenerProtocol = 'TURN-UDP';
  readonly name: string;
  minRelayPort: number | undefined;
  maxRelayPort: number | undefined;
  private readonly addressing: RelayAddressing;
  private readonly family: 4 | 6;
  private socket: UdpSocket | undefined;
  private detach: (() => void) | undefined;

  constructor(
    public config: ListenerConfig,
    readonly stats: ListenerStats,
    private readonly server: TurnServer,
    /** Share the port with other relay threads (SO_REUSEPORT; Node >= 22.12). */
    private readonly reusePort = false,
  ) {
    this.name = config.name;
    this.minRelayPort = config.min_relay_port;
    this.maxRelayPort = config.max_relay_port;
    this.addressing = relayAddressing(config.address);
    this.family = config.address.includes(':') ? 6 : 4;
  }

  /** Applies the parts of a new config that need no restart (relay port range). */
  update(config: ListenerConfig): void {
    this.config = config;
    this.minRelayPort = config.min_relay_port;
    this.maxRelayPort = config.max_relay_port;
  }

  isOpen(): boolean {
    return this.socket !== undefined;
  }

  relayBindAddress(family: 4 | 6): string | undefined {
    return this.addressing.bind(family);
  }

  relayAddress(family: 4 | 6): string {
    return this.addressing.report(family);
  }

  async start(): Promise<void> {
    const s = literalSocket(this.family, this.reusePort);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      s.once('error', onError);
      s.bind({ port: this.config.port, address: this.config.address, exclusive: true }, () => {
        s.off('error', onError);
        resolve();
      });
    });
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

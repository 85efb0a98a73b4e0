/**
 * Where answers and relayed data for one client go: a UDP 5-tuple on a listener socket, or a
 * TCP/TLS connection. Streams carry ChannelData padded to 4 bytes (RFC 8656 sec 12.5) and drop
 * data rather than buffer without bound when the client reads too slowly. These implement turn/'s
 * ClientLink hook.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket as NetSocket } from 'node:net';
import { ipv4ToInt } from '../stun/ip.js';
import type { ClientLink } from '../turn/hooks.js';
import type { ListenerStats } from '../turn/stats.js';
import { senderFor, type UdpSender } from './udp/send.js';

const PAD = Buffer.alloc(4);

export class UdpClientLink implements ClientLink {
  readonly transport = 'udp' as const;
  /** Shared by every link of the listener socket; a closed socket drops what is sent. */
  private readonly sender: UdpSender;
  /** The client's IPv4 address as uint32, or -1 (IPv6). */
  private readonly ip: number;
  constructor(
    readonly socket: UdpSocket,
    readonly address: string,
    readonly port: number,
    readonly family: 4 | 6,
    readonly stats: ListenerStats,
  ) {
    this.sender = senderFor(socket);
    this.ip = family === 4 ? ipv4ToInt(address) : -1;
  }

  sendStun(buf: Buffer): void {
    this.stats.txPackets++;
    this.stats.txBytes += buf.length;
    this.sender.sendRange(buf, 0, buf.length, this.ip, this.port, this.address);
  }

  sendChannelData(channel: number, buf: Buffer, start: number, len: number): void {
    this.stats.txPackets++;
    this.stats.txBytes += 4 + len;
    this.sender.sendChannelData(channel, buf, start, len, this.ip, this.port, this.address);
  }

  sendParts(head: Buffer, payload: Buffer, pad: number): void {
    this.stats.txPackets++;
    this.stats.txBytes += head.length + payload.length + pad;
    this.sender.sendList(
      pad === 0 ? [head, payload] : [head, payload, PAD.subarray(0, pad)],
      this.port,
      this.address,
    );
  }
}

/** Bytes queued on a slow stream client before relayed data is dropped (like UDP would). */
export const STREAM_HIGH_WATER = 1 << 20;

export class StreamClientLink implements ClientLink {
  dropped = 0;
  constructor(
    readonly transport: 'tcp' | 'tls',
    readonly socket: NetSocket,
    readonly address: string,
    readonly port: number,
    readonly family: 4 | 6,
    readonly stats: ListenerStats,
  ) {}

  private writable(): boolean {
    if (this.socket.destroyed || this.socket.writableLength > STREAM_HIGH_WATER) {
      this.dropped++;
      return false;
    }
    return true;
  }

  sendStun(buf: Buffer): void {
    if (!this.writable()) return;
    this.stats.txPackets++;
    this.stats.txBytes += buf.length;
    this.socket.write(buf);
  }

  sendChannelData(channel: number, buf: Buffer, start: number, len: number): void {
    if (!this.writable()) return;
    const pad = (4 - (len & 3)) & 3;
    const out = Buffer.allocUnsafe(4 + len + pad);
    out.writeUInt16BE(channel, 0);
    out.writeUInt16BE(len, 2);
    buf.copy(out, 4, start, start + len);
    if (pad !== 0) out.fill(0, 4 + len);
    this.stats.txPackets++;
    this.stats.txBytes += out.length;
    this.socket.write(out);
  }

  sendParts(head: Buffer, payload: Buffer, pad: number): void {
    if (!this.writable()) return;
    const out = Buffer.allocUnsafe(head.length + payload.length + pad);
    head.copy(out, 0);
    payload.copy(out, head.length);
    if (pad !== 0) out.fill(0, head.length + payload.length);
    this.stats.txPackets++;
    this.stats.txBytes += out.length;
    this.socket.write(out);
  }
}

/**
 * One TURN allocation: its relay socket, permissions and channel bindings, and the peer-to-client
 * half of the hot path. Lookups use numeric keys for IPv4 (uint32 address; address * 65536 + port
 * for a transport address); IPv6 uses canonical strings. The relay socket and the perimeter come
 * in through hooks (hooks.ts): no socket is opened here.
 */
import { randomFillSync } from 'node:crypto';
import { Attr, DATA_INDICATION, MAGIC_COOKIE } from '../stun/constants.js';
import { ipv6ToBigInt } from '../stun/ip.js';
import type { ClientLink, ListenerContext, PeerDatagramHandler, PeerPolicy, PeerSocket } from './hooks.js';
import type { ClusterStats } from './stats.js';

export type { ListenerContext } from './hooks.js';

export class Permission {
  expiresAt = 0;
  /** Perimeter generation this admission was computed for. */
  gen = 0;
  ranges: readonly number[] | null = null;
  blocked: readonly number[] | null = null;
  cluster: ClusterStats;
  constructor(
    readonly key: number | string,
    readonly address: string,
    readonly family: 4 | 6,
    cluster: ClusterStats,
  ) {
    this.cluster = cluster;
  }
}

export class ChannelBinding {
  expiresAt = 0;
  constructor(
    readonly number: number,
    readonly address: string,
    readonly port: number,
    /** Key of the peer IP in the permission map. */
    readonly ipKey: number | string,
    /** Key of the peer transport address in channelsByPeer. */
    readonly peerKey: number | string,
  ) {}
}

/** Map key of a peer transport address. */
export function peerKeyOf(ipKey: number | string, port: number): number | string {
  return typeof ipKey === 'number' ? ipKey * 65536 + port : `${ipKey}|${port}`;
}

export class Allocation {
  readonly permissions = new Map<number | string, Permission>();
  readonly channels = new Map<number, ChannelBinding>();
  readonly channelsByPeer = new Map<number | string, ChannelBinding>();
  /**
   * Expired bindings in their 5-minute cooldown (RFC 8656 sec 12): neither the number nor the peer
   * may be bound to something else until it ends. Keyed by channel number.
   */
  readonly cooldown = new Map<number, { readonly peerKey: number | string; readonly until: number }>();
  expiresAt = 0;
  closed = false;
  relayPort = 0;
  /** RESERVATION-TOKEN handed out with this allocation (EVEN-PORT with R bit). */
  reservationToken: Buffer | undefined;
  /** Bytes of transaction ID for Data indications: random prefix, counter in the last 4. */
  private readonly txid = randomTxidPrefix();
  private txCounter = 0;
  private readonly detach: () => void;

  constructor(
    readonly id: number,
    readonly listener: ListenerContext,
    readonly link: ClientLink,
    /** Key in the allocation table's UDP 5-tuple index, or undefined for stream clients. */
    readonly clientKey: number | string | undefined,
    /** Quota identity (user id). */
    readonly user: string,
    /** USERNAME as sent: later requests must carry the same one (else 441). */
    readonly username: string,
    readonly relay: PeerSocket,
    readonly relayAddress: string,
    readonly family: 4 | 6,
    readonly perimeter: PeerPolicy,
  ) {
    this.detach = relay.attach(this.onPeerMessage);
  }

  /** Re-checks a permission against the current perimeter; false (and removed) if no longer admitted. */
  revalidate(perm: Permission): boolean {
    const r = this.perimeter.check(this.listener.name, perm.address);
    if (typeof r === 'string') {
      this.removePermission(perm);
      return false;
    }
    perm.ranges = r.ranges;
    perm.blocked = r.blockedPorts;
    perm.cluster = r.cluster.stats;
    perm.gen = this.perimeter.generation;
    return true;
  }

  removePermission(perm: Permission): void {
    this.permissions.delete(perm.key);
    for (const ch of this.channels.values()) {
      if (ch.ipKey === perm.key) this.removeChannel(ch);
    }
  }

  removeChannel(ch: ChannelBinding): void {
    this.channels.delete(ch.number);
    this.channelsByPeer.delete(ch.peerKey);
  }

  /** Client -> peer over a channel. `buf[start..start+len)` is the payload. Hot path. */
  sendChannel(ch: ChannelBinding, buf: Buffer, start: number, len: number): void {
    if (this.closed) return;
    const perm = this.permissions.get(ch.ipKey);
    if (perm === undefined) return;
    if (perm.gen !== this.perimeter.generation && !this.revalidate(perm)) return;
    if (!portAllowed(perm.ranges, perm.blocked, ch.port)) return;
    const c = perm.cluster;
    c.txPackets++;
    c.txBytes += len;
    const ip = ch.ipKey;
    this.relay.sendRange(buf, start, len, typeof ip === 'number' ? ip : -1, ch.port, ch.address);
  }

  /** Client -> peer from a Send indication. Hot path. */
  sendTo(perm: Permission, port: number, buf: Buffer, start: number, len: number): void {
    // Port 0 is no peer (and dgram would throw on it).
    if (this.closed || port === 0) return;
    if (perm.gen !== this.perimeter.generation && !this.revalidate(perm)) return;
    if (!portAllowed(perm.ranges, perm.blocked, port)) return;
    const c = perm.cluster;
    c.txPackets++;
    c.txBytes += len;
    const ip = perm.key;
    this.relay.sendRange(buf, start, len, typeof ip === 'number' ? ip : -1, port, perm.address);
  }

  /** Peer -> client. Hot path: one closure per allocation, none per packet. */
  private readonly onPeerMessage: PeerDatagramHandler = (buf, start, end, ip, port, from): void => {
    // IPv4 peers are keyed by number; IPv6 ones (only on IPv6 relays, always with rinfo) by text.
    const ipKey: number | string = ip >= 0 ? ip : from!.address;
    const perm = this.permissions.get(ipKey);
    if (perm === undefined) return;
    if (perm.gen !== this.perimeter.generation && !this.revalidate(perm)) return;
    if (!portAllowed(perm.ranges, perm.blocked, port)) return;
    const len = end - start;
    const c = perm.cluster;
    c.rxPackets++;
    c.rxBytes += len;
    const ch = this.channelsByPeer.get(ip >= 0 ? ip * 65536 + port : `${ipKey}|${port}`);
    if (ch !== undefined) {
      this.link.sendChannelData(ch.number, buf, start, len);
      return;
    }
    this.sendDataIndication(ip, perm.address, port, buf.subarray(start, end));
  };

  private sendDataIndication(v4: number, address: string, port: number, msg: Buffer): void {
    const v6 = v4 < 0;
    const attrLen = v6 ? 20 : 8;
    const headLen = 20 + 4 + attrLen + 4;
    const len = msg.length;
    const pad = (4 - (len & 3)) & 3;
    const h = Buffer.allocUnsafe(headLen);
    h.writeUInt16BE(DATA_INDICATION, 0);
    h.writeUInt16BE(headLen - 20 + len + pad, 2);
    h.writeUInt32BE(MAGIC_COOKIE, 4);
    this.txCounter = (this.txCounter + 1) >>> 0;
    this.txid.writeUInt32BE(this.txCounter, 8);
    this.txid.copy(h, 8);
    h.writeUInt16BE(Attr.XOR_PEER_ADDRESS, 20);
    h.writeUInt16BE(attrLen, 22);
    h[24] = 0;
    h[25] = v6 ? 2 : 1;
    h.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 26);
    if (!v6) {
      h.writeUInt32BE((v4 ^ MAGIC_COOKIE) >>> 0, 28);
    } else {
      writeXorV6(address, h, 28);
    }
    h.writeUInt16BE(Attr.DATA, 24 + attrLen);
    h.writeUInt16BE(len, 26 + attrLen);
    this.link.sendParts(h, msg, pad);
  }

  /** Releases the relay socket. Idempotent. Only the allocation table calls it (it owns the indexes). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    this.relay.close();
    this.permissions.clear();
    this.channels.clear();
    this.channelsByPeer.clear();
    this.cooldown.clear();
  }
}

/**
 * Random bytes drawn in bulk: one CSPRNG call per 256 allocations instead of one each. Each
 * allocation owns its 12-byte slice; a used-up pool is replaced, never refilled.
 */
const POOL_IDS = 256;
let randomPool = Buffer.alloc(0);
let randomPos = 0;
function randomTxidPrefix(): Buffer {
  if (randomPos + 12 > randomPool.length) {
    randomPool = randomFillSync(Buffer.allocUnsafeSlow(12 * POOL_IDS));
    randomPos = 0;
  }
  const out = randomPool.subarray(randomPos, randomPos + 12);
  randomPos += 12;
  return out;
}

/** Writes an IPv6 address XORed with magic cookie + transaction ID (already at h[4..20)). */
function writeXorV6(address: string, h: Buffer, off: number): void {
  let v = ipv6ToBigInt(address);
  for (let i = 15; i >= 0; i--) {
    h[off + i] = Number(v & 0xffn) ^ h[4 + i]!;
    v >>= 8n;
  }
}

/** Is `port` allowed by an admission (ranges null = any; blocked = own listener ports)? Per datagram. */
export function portAllowed(
  ranges: readonly number[] | null,
  blocked: readonly number[] | null,
  port: number,
): boolean {
  if (blocked !== null) {
    for (let i = 0; i < blocked.length; i++) if (blocked[i] === port) return false;
  }
  if (ranges === null) return true;
  for (let i = 0; i < ranges.length; i += 2) {
    if (port >= ranges[i]! && port <= ranges[i + 1]!) return true;
  }
  return false;
}

/**
 * Allocation lifecycle: quotas, relay sockets, lifetimes and the single coarse timer that expires
 * allocations, permissions, channel bindings, port reservations and cached answers.
 */
import { randomBytes } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import { DEBUG, type ScopedLogger } from '../log/logger.js';
import type { Perimeter } from '../policy/perimeter.js';
import type { ClientLink } from '../transport/client-link.js';
import { bindExact, bindRelay, closeQuietly, type RelayRequest } from '../transport/udp/relay-socket.js';
import { Allocation, ChannelBinding, type ListenerContext, Permission, peerKeyOf } from './allocation.js';
import { RetransmitCache } from './retransmit-cache.js';

export const DEFAULT_ALLOCATION_LIFETIME_S = 600;
export const MAX_ALLOCATION_LIFETIME_S = 3600;
export const PERMISSION_LIFETIME_S = 300;
export const CHANNEL_LIFETIME_S = 600;
/** After a channel binding expires, its number and peer stay reserved for each other this long. */
export const CHANNEL_COOLDOWN_S = 300;
export const RESERVATION_LIFETIME_S = 30;
export const MAX_PERMISSIONS_PER_ALLOCATION = 256;
export const MAX_CHANNELS_PER_ALLOCATION = 256;
export const TICK_MS = 1000;

export class AllocationError extends Error {
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(reason);
  }
}

export interface AllocationManagerOptions {
  readonly perimeter: Perimeter;
  readonly logger: ScopedLogger;
  /** Clock in ms. @default Date.now */
  readonly now?: () => number;
  /** Allocations per user; 0 = unlimited. @default 0 */
  readonly userQuota?: number;
  /** Global cap on allocations; 0 = unlimited. @default 10000 */
  readonly maxAllocations?: number;
}

export interface CreateRequest extends RelayRequest {
  readonly listener: ListenerContext;
  readonly link: ClientLink;
  readonly clientKey: number | string | undefined;
  readonly user: string;
  readonly username: string;
  /** Address reported in XOR-RELAYED-ADDRESS. */
  readonly relayAddress: string;
  readonly lifetimeS: number;
  /** RESERVATION-TOKEN from the request (8 bytes), if any. */
  readonly token?: Buffer | undefined;
}

interface Reservation {
  readonly socket: UdpSocket;
  readonly port: number;
  readonly family: 4 | 6;
  readonly expiresAt: number;
}

export class AllocationManager {
  readonly all = new Set<Allocation>();
  readonly cache = new RetransmitCache();
  readonly now: () => number;
  userQuota: number;
  maxAllocations: number;
  draining = false;
  allocationsTotal = 0;
  private pending = 0;
  private nextId = 1;
  private readonly userCounts = new Map<string, number>();
  private readonly reservations = new Map<string, Reservation>();
  private timer: NodeJS.Timeout | undefined;
  private readonly log: ScopedLogger;
  private readonly perimeter: Perimeter;
  /** Called when an allocation goes away (expiry, Refresh 0, connection close). */
  onRemoved: ((a: Allocation) => void) | undefined;

  constructor(opts: AllocationManagerOptions) {
    this.perimeter = opts.perimeter;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.userQuota = opts.userQuota ?? 0;
    this.maxAllocations = opts.maxAllocations ?? 10_000;
  }

  get count(): number {
    return this.all.size;
  }

  /** Allocations a user holds now. */
  userCount(user: string): number {
    return this.userCounts.get(user) ?? 0;
  }

  /** Quota and capacity check before any socket is bound; 0 when admitted. */
  admit(user: string): 0 | 486 | 508 {
    if (this.draining) return 508;
    if (this.maxAllocations > 0 && this.all.size + this.pending >= this.maxAllocations) return 508;
    if (this.userQuota > 0 && this.userCount(user) >= this.userQuota) return 486;
    return 0;
  }

  /** Creates an allocation with a bound relay socket, or throws AllocationError. */
  async create(req: CreateRequest): Promise<Allocation> {
    const verdict = this.admit(req.user);
    if (verdict === 486) throw new AllocationError(486, 'allocation quota reached');
    if (verdict === 508) {
      throw new AllocationError(508, this.draining ? 'server is draining' : 'allocation capacity reached');
    }
    // Count the user now so that concurrent Allocates cannot overshoot the quota.
    this.pending++;
    this.userCounts.set(req.user, this.userCount(req.user) + 1);
    let socket: UdpSocket | undefined;
    let port = 0;
    let token: Buffer | undefined;
    try {
      if (req.token !== undefined) {
        const key = req.token.toString('hex');
        const r = this.reservations.get(key);
        if (r !== undefined && r.family === req.family) {
          this.reservations.delete(key);
          socket = r.socket;
          port = r.port;
        } else {
          // Another relay thread may hold it: it releases the port and we bind it here.
          const remote = r === undefined && this.claimRemote ? await this.claimRemote(key) : undefined;
          socket =
            remote !== undefined && remote.family === req.family
              ? await bindExact(req.family, req.bindAddress, remote.port)
              : undefined;
          if (socket === undefined) throw new AllocationError(508, 'no such port reservation');
          port = remote!.port;
        }
      } else {
        const bound = await bindRelay(req);
        if (!bound) throw new AllocationError(508, 'no relay port available');
        socket = bound.socket;
        port = bound.port;
        if (bound.reserved) {
          token = randomBytes(8);
          this.reservations.set(token.toString('hex'), {
            socket: bound.reserved.socket,
            port: bound.reserved.port,
            family: req.family,
            expiresAt: this.now() + RESERVATION_LIFETIME_S * 1000,
          });
        }
      }
    } catch (e) {
      this.pending--;
      this.decUser(req.user);
      throw e;
    }
    this.pending--;
    const a = new Allocation(
      this.nextId++,
      req.listener,
      req.link,
      req.clientKey,
      req.user,
      req.username,
      socket,
      req.relayAddress,
      req.family,
      this.perimeter,
    );
    a.relayPort = port;
    a.reservationToken = token;
    a.expiresAt = this.now() + req.lifetimeS * 1000;
    this.all.add(a);
    this.allocationsTotal++;
    if (req.link.transport === 'udp') {
      // A UDP listener's "connections" are its allocations.
      req.listener.stats.connections++;
      req.listener.stats.connectionsTotal++;
    }
    if (req.clientKey !== undefined) req.listener.allocations.set(req.clientKey, a);
    if (this.log.level >= DEBUG) {
      this.log.debug(
        `allocation ${a.id} created: user ${req.user}, client ${req.link.transport}:${req.link.address}:${req.link.port}, relay ${req.relayAddress}:${port}, lifetime ${req.lifetimeS}s`,
      );
    }
    return a;
  }

  private decUser(user: string): void {
    const n = this.userCount(user) - 1;
    if (n <= 0) this.userCounts.delete(user);
    else this.userCounts.set(user, n);
  }

  refresh(a: Allocation, lifetimeS: number): void {
    a.expiresAt = this.now() + lifetimeS * 1000;
  }

  /** Frees an allocation and its relay socket. Idempotent. */
  remove(a: Allocation, why: string): void {
    if (!this.all.delete(a)) return;
    a.close();
    this.decUser(a.user);
    if (a.link.transport === 'udp') a.listener.stats.connections--;
    if (this.log.level >= DEBUG) this.log.debug(`allocation ${a.id} removed: ${why}`);
    this.onRemoved?.(a);
  }

  /** Perimeter verdict for a peer of this allocation (no side effects). */
  check(a: Allocation, address: string): ReturnType<Perimeter['check']> {
    return this.perimeter.check(a.listener.name, address);
  }

  /** Installs or refreshes a permission for a peer IP; the admission comes from the perimeter. */
  permit(a: Allocation, ipKey: number | string, address: string, family: 4 | 6): Permission | string {
    const r = this.perimeter.check(a.listener.name, address);
    if (typeof r === 'string') return r;
    let p = a.permissions.get(ipKey);
    if (p === undefined) {
      if (a.permissions.size >= MAX_PERMISSIONS_PER_ALLOCATION) return 'too many permissions';
      p = new Permission(ipKey, address, family, r.cluster.stats);
      a.permissions.set(ipKey, p);
    }
    p.cluster = r.cluster.stats;
    p.ranges = r.ranges;
    p.blocked = r.blockedPorts;
    p.gen = this.perimeter.generation;
    p.expiresAt = this.now() + PERMISSION_LIFETIME_S * 1000;
    return p;
  }

  /**
   * Binds or refreshes a channel (RFC 8656 sec 12.2): a number bound to another peer, or a peer bound
   * to another number, is a 400. Returns the binding or an error reason.
   */
  bindChannel(
    a: Allocation,
    number: number,
    ipKey: number | string,
    address: string,
    port: number,
  ): ChannelBinding | string {
    const peerKey = peerKeyOf(ipKey, port);
    const byNumber = a.channels.get(number);
    const byPeer = a.channelsByPeer.get(peerKey);
    if (byNumber !== undefined && byNumber.peerKey !== peerKey) {
      return `channel ${number.toString(16)} is bound to another peer`;
    }
    if (byPeer !== undefined && byPeer.number !== number) {
      return `peer is bound to channel ${byPeer.number.toString(16)}`;
    }
    if (byNumber === undefined && a.cooldown.size > 0) {
      const cool = a.cooldown.get(number);
      if (cool !== undefined && cool.peerKey !== peerKey) {
        return `channel ${number.toString(16)} was bound to another peer less than 5 minutes ago`;
      }
      for (const [n, c] of a.cooldown) {
        if (c.peerKey === peerKey && n !== number) {
          return `peer was bound to channel ${n.toString(16)} less than 5 minutes ago`;
        }
      }
      a.cooldown.delete(number);
    }
    let ch = byNumber;
    if (ch === undefined) {
      if (a.channels.size >= MAX_CHANNELS_PER_ALLOCATION) return 'too many channels';
      ch = new ChannelBinding(number, address, port, ipKey, peerKey);
      a.channels.set(number, ch);
      a.channelsByPeer.set(peerKey, ch);
    }
    ch.expiresAt = this.now() + CHANNEL_LIFETIME_S * 1000;
    return ch;
  }

  /** The coarse timer's work: expire everything whose time has come. */
  tick(): void {
    const now = this.now();
    for (const a of this.all) {
      if (a.expiresAt <= now) {
        this.remove(a, 'lifetime expired');
        continue;
      }
      for (const p of a.permissions.values()) {
        if (p.expiresAt <= now) a.permissions.delete(p.key);
      }
      for (const ch of a.channels.values()) {
        if (ch.expiresAt <= now) {
          a.removeChannel(ch);
          a.cooldown.set(ch.number, { peerKey: ch.peerKey, until: now + CHANNEL_COOLDOWN_S * 1000 });
        }
      }
      for (const [n, c] of a.cooldown) if (c.until <= now) a.cooldown.delete(n);
    }
    for (const [k, r] of this.reservations) {
      if (r.expiresAt <= now) {
        closeQuietly(r.socket);
        this.reservations.delete(k);
      }
    }
    this.cache.sweep(now);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Removes every allocation whose listener matches (or all), and stops the timer when asked. */
  removeWhere(pred: (a: Allocation) => boolean, why: string): void {
    for (const a of [...this.all]) if (pred(a)) this.remove(a, why);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.removeWhere(() => true, 'server stopped');
    for (const r of this.reservations.values()) closeQuietly(r.socket);
    this.reservations.clear();
    this.cache.clear();
  }

  /** Set with several relay threads: asks the others to release a reservation (token hex) for us. */
  claimRemote: ((tokenHex: string) => Promise<{ port: number; family: 4 | 6 } | undefined>) | undefined;

  /** Gives up a reservation (closing its socket) so that another relay thread can bind the port. */
  release(tokenHex: string): { port: number; family: 4 | 6 } | undefined {
    const r = this.reservations.get(tokenHex);
    if (r === undefined) return undefined;
    this.reservations.delete(tokenHex);
    closeQuietly(r.socket);
    return { port: r.port, family: r.family };
  }

  /** Address family of a pending reservation, if the token is known. */
  reservationFamily(token: Buffer): 4 | 6 | undefined {
    return this.reservations.get(token.toString('hex'))?.family;
  }

  get reservationCount(): number {
    return this.reservations.size;
  }
}

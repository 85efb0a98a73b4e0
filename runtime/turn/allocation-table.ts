/**
 * The allocation table: the one owner of allocation state. It holds every allocation, the UDP
 * 5-tuple index of each listener (client key -> allocation), the Allocates in flight, the answers
 * cached for retransmitted requests, EVEN-PORT reservations and per-user counts, and runs the
 * single coarse timer that expires allocations, permissions, channel bindings, reservations and
 * cached answers. Listeners read their index through `clients()`; only this class writes it.
 * Sockets come from the RelayPorts hook, peer admission from PeerPolicy, quotas from
 * AllocationQuota (hooks.ts).
 */
import { randomBytes } from 'node:crypto';
import { DEBUG, type ScopedLogger } from '../log/logger.js';
import { Allocation, ChannelBinding, Permission, peerKeyOf } from './allocation.js';
import { TurnError } from './errors.js';
import type {
  Admission,
  AllocationQuota,
  Claimed,
  ClaimRemote,
  ClientLink,
  ListenerContext,
  PeerPolicy,
  PeerSocket,
  RelayPorts,
  RelayRequest,
} from './hooks.js';
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

export interface AllocationTableOptions {
  readonly perimeter: PeerPolicy;
  readonly quota: AllocationQuota;
  readonly ports: RelayPorts;
  readonly logger: ScopedLogger;
  /** Clock in ms. @default Date.now */
  readonly now?: () => number;
  /** With several relay threads: asks the others for a reservation this thread does not hold. */
  readonly claimRemote?: ClaimRemote;
  /**
   * Relay sockets (allocations and reservations, bound or being bound) this table may hold: checked
   * before a socket is opened, so that relaying can never take the process's last descriptors.
   * @default unlimited
   */
  readonly socketBudget?: number;
}

/** Who asks for an allocation, and where it relays from. */
export interface CreateRequest extends RelayRequest {
  readonly listener: ListenerContext;
  readonly link: ClientLink;
  /** Key in the listener's UDP 5-tuple index; undefined for stream clients. */
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
  readonly socket: PeerSocket;
  readonly port: number;
  readonly family: 4 | 6;
  readonly expiresAt: number;
  /** Who holds it: it counts toward this user's quota and this client address's bound. */
  readonly user: string;
  readonly client: string;
}

/** A listener's part of the table: its UDP clients and its Allocates in flight. */
interface ListenerIndex {
  readonly clients: Map<number | string, Allocation>;
  readonly pending: Set<number | string>;
}

export class AllocationTable {
  readonly now: () => number;
  private readonly all = new Set<Allocation>();
  private readonly indexes = new Map<ListenerContext, ListenerIndex>();
  private readonly cache = new RetransmitCache();
  private total = 0;
  private creating = 0;
  private nextId = 1;
  private readonly userCounts = new Map<string, number>();
  private readonly reservations = new Map<string, Reservation>();
  /** Reservations per client address. */
  private readonly clientReservations = new Map<string, number>();
  /** Allocations (being created too) and reservations per client address: admin.client_quota. */
  private readonly clientCounts = new Map<string, number>();
  private readonly socketBudget: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: ScopedLogger;
  private readonly perimeter: PeerPolicy;
  private readonly quota: AllocationQuota;
  private readonly ports: RelayPorts;
  private readonly claimRemote: ClaimRemote | undefined;

  constructor(opts: AllocationTableOptions) {
    this.perimeter = opts.perimeter;
    this.quota = opts.quota;
    this.ports = opts.ports;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.claimRemote = opts.claimRemote;
    this.socketBudget = opts.socketBudget ?? Number.POSITIVE_INFINITY;
  }

  /** Allocations now. */
  get count(): number {
    return this.all.size;
  }

  /** Allocations now, per listener name (this thread's table). */
  countByListener(): Map<string, number> {
    const out = new Map<string, number>();
    for (const a of this.all) out.set(a.listener.name, (out.get(a.listener.name) ?? 0) + 1);
    return out;
  }

  /** Allocations created since start. */
  get allocationsTotal(): number {
    return this.total;
  }

  /** True once draining: new Allocates get 508. */
  get draining(): boolean {
    return this.quota.draining;
  }

  /** Allocations a user holds now. */
  userCount(user: string): number {
    return this.userCounts.get(user) ?? 0;
  }

  private indexOf(listener: ListenerContext): ListenerIndex {
    let ix = this.indexes.get(listener);
    if (ix === undefined) {
      ix = { clients: new Map(), pending: new Set() };
      this.indexes.set(listener, ix);
    }
    return ix;
  }

  /**
   * A UDP listener's 5-tuple index (client key -> allocation), for its hot path to read. The map
   * is live and stays the same object for the listener's life; only the table writes it.
   */
  clients(listener: ListenerContext): ReadonlyMap<number | string, Allocation> {
    return this.indexOf(listener).clients;
  }

  /** Is an Allocate of this client (5-tuple or connection key) being served? Retransmissions wait. */
  isPending(listener: ListenerContext, key: number | string): boolean {
    return this.indexes.get(listener)?.pending.has(key) ?? false;
  }

  /** The answer cached for a retransmitted request, if still fresh. */
  cachedAnswer(key: string): Buffer | undefined {
    return this.cache.get(key, this.now());
  }

  /** Remembers an answer for retransmissions of the same request. */
  cacheAnswer(key: string, answer: Buffer): void {
    this.cache.set(key, answer, this.now());
  }

  /**
   * How many quota slots an Allocate takes: 2 when it reserves the next port too, 0 when it takes
   * over a reservation held here (the reservation's slot becomes the allocation's), else 1.
   */
  slotsFor(token: Buffer | undefined, reserveNext: boolean): number {
    if (token !== undefined) return this.reservations.has(token.toString('hex')) ? 0 : 1;
    return reserveNext ? 2 : 1;
  }

  /**
   * Quota, capacity and descriptor check before any socket is bound. Reservations count like
   * allocations, for their user and for the gateway; `sockets` is how many the request binds (2
   * for EVEN-PORT with the R bit).
   */
  admit(user: string, client: string, sockets = 1): TurnError | undefined {
    const held = this.all.size + this.creating + this.reservations.size;
    if (held + sockets > this.socketBudget) return new TurnError(508, 'relay socket budget exhausted');
    // A reserving Allocate must fit with both slots; one taking over a reservation fits in its slot.
    return this.quota.admit(
      user,
      this.userCount(user) + sockets - 1,
      held + sockets - 1,
      this.clientCount(client) + sockets - 1,
    );
  }

  /** Allocations and reservations a client address holds now. */
  clientCount(client: string): number {
    return this.clientCounts.get(client) ?? 0;
  }

  private bump(map: Map<string, number>, key: string, by: number): void {
    const n = (map.get(key) ?? 0) + by;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  }

  /**
   * Creates an allocation with a bound relay socket and indexes it; rejects with a TurnError.
   * `pendingKey` marks the Allocate as in flight on its listener until this settles.
   */
  async create(req: CreateRequest, pendingKey?: number | string): Promise<Allocation> {
    const refused = this.admit(req.user, req.link.address, this.slotsFor(req.token, req.reserveNext));
    if (refused !== undefined) throw refused;
    // Count the user and client now so that concurrent Allocates cannot overshoot the quotas.
    this.creating++;
    this.userCounts.set(req.user, this.userCount(req.user) + 1);
    this.bump(this.clientCounts, req.link.address, 1);
    const pending = pendingKey === undefined ? undefined : this.indexOf(req.listener).pending;
    pending?.add(pendingKey!);
    let socket: PeerSocket;
    let port: number;
    let token: Buffer | undefined;
    try {
      ({ socket, port, token } = await this.bind(req));
    } catch (e) {
      this.decUser(req.user);
      this.bump(this.clientCounts, req.link.address, -1);
      throw e;
    } finally {
      this.creating--;
      pending?.delete(pendingKey!);
    }
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
    this.total++;
    if (req.link.transport === 'udp') {
      // A UDP listener's "connections" are its allocations.
      req.listener.stats.connections++;
      req.listener.stats.connectionsTotal++;
    }
    if (req.clientKey !== undefined) this.indexOf(req.listener).clients.set(req.clientKey, a);
    if (this.log.level >= DEBUG) {
      this.log.debug(
        `allocation ${a.id} created: user ${req.user}, client ${req.link.transport}:${req.link.address}:${req.link.port}, relay ${req.relayAddress}:${port}, lifetime ${req.lifetimeS}s`,
      );
    }
    return a;
  }

  /** The relay socket of a new allocation: a reserved port (here or on another thread), or a fresh one. */
  private async bind(req: CreateRequest): Promise<{ socket: PeerSocket; port: number; token?: Buffer }> {
    if (req.token !== undefined) {
      const key = req.token.toString('hex');
      const r = this.reservations.get(key);
      if (r !== undefined && r.family === req.family) {
        this.forgetReservation(key, r);
        return { socket: r.socket, port: r.port };
      }
      // Another relay thread may hold it: it releases the port and we bind it here.
      const remote = r === undefined && this.claimRemote ? await this.claimRemote(key) : undefined;
      const socket =
        remote !== undefined && remote.family === req.family
          ? await this.ports.bindExact(req.family, req.bindAddress, remote.port)
          : undefined;
      if (socket === undefined) throw new TurnError(508, 'no such port reservation');
      return { socket, port: remote!.port };
    }
    const bound = await this.ports.bind(req);
    if (!bound) throw new TurnError(508, 'no relay port available');
    if (!bound.reserved) return { socket: bound.socket, port: bound.port };
    const token = randomBytes(8);
    this.reservations.set(token.toString('hex'), {
      socket: bound.reserved.socket,
      port: bound.reserved.port,
      family: req.family,
      expiresAt: this.now() + RESERVATION_LIFETIME_S * 1000,
      user: req.user,
      client: req.link.address,
    });
    this.userCounts.set(req.user, this.userCount(req.user) + 1);
    this.bump(this.clientCounts, req.link.address, 1);
    this.clientReservations.set(req.link.address, (this.clientReservations.get(req.link.address) ?? 0) + 1);
    return { socket: bound.socket, port: bound.port, token };
  }

  /** Drops a reservation from the table and its counts (the caller closes or adopts its socket). */
  private forgetReservation(key: string, r: Reservation): void {
    this.reservations.delete(key);
    this.decUser(r.user);
    this.bump(this.clientCounts, r.client, -1);
    const n = (this.clientReservations.get(r.client) ?? 0) - 1;
    if (n <= 0) this.clientReservations.delete(r.client);
    else this.clientReservations.set(r.client, n);
  }

  private decUser(user: string): void {
    const n = this.userCount(user) - 1;
    if (n <= 0) this.userCounts.delete(user);
    else this.userCounts.set(user, n);
  }

  refresh(a: Allocation, lifetimeS: number): void {
    a.expiresAt = this.now() + lifetimeS * 1000;
  }

  /** Frees an allocation, its relay socket and its index entry. Idempotent. */
  remove(a: Allocation, why: string): void {
    if (!this.all.delete(a)) return;
    a.close();
    if (a.clientKey !== undefined) {
      const clients = this.indexes.get(a.listener)?.clients;
      if (clients?.get(a.clientKey) === a) clients.delete(a.clientKey);
    }
    this.decUser(a.user);
    this.bump(this.clientCounts, a.link.address, -1);
    // The port it reserved goes with it: nothing else will claim the pair.
    if (a.reservationToken !== undefined) {
      const key = a.reservationToken.toString('hex');
      const r = this.reservations.get(key);
      if (r !== undefined) {
        this.forgetReservation(key, r);
        r.socket.close();
      }
    }
    if (a.link.transport === 'udp') a.listener.stats.connections--;
    if (this.log.level >= DEBUG) this.log.debug(`allocation ${a.id} removed: ${why}`);
  }

  /** Removes every allocation of a listener and forgets its index (the listener closed). */
  removeListener(listener: ListenerContext, why: string): void {
    this.removeWhere((a) => a.listener === listener, why);
    this.indexes.delete(listener);
  }

  /** Perimeter verdict for a peer of this allocation (no side effects); a 403 when denied. */
  check(a: Allocation, address: string): Admission | TurnError {
    const r = this.perimeter.check(a.listener.name, address);
    return typeof r === 'string' ? new TurnError(403, r) : r;
  }

  /** Installs or refreshes a permission for a peer IP; the admission comes from the perimeter. */
  permit(a: Allocation, ipKey: number | string, address: string, family: 4 | 6): Permission | TurnError {
    const r = this.check(a, address);
    if (r instanceof TurnError) return r;
    let p = a.permissions.get(ipKey);
    if (p === undefined) {
      if (a.permissions.size >= MAX_PERMISSIONS_PER_ALLOCATION)
        return new TurnError(403, 'too many permissions');
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
   * to another number, is a 400.
   */
  bindChannel(
    a: Allocation,
    number: number,
    ipKey: number | string,
    address: string,
    port: number,
  ): ChannelBinding | TurnError {
    const peerKey = peerKeyOf(ipKey, port);
    const byNumber = a.channels.get(number);
    const byPeer = a.channelsByPeer.get(peerKey);
    if (byNumber !== undefined && byNumber.peerKey !== peerKey) {
      return new TurnError(400, `channel ${number.toString(16)} is bound to another peer`);
    }
    if (byPeer !== undefined && byPeer.number !== number) {
      return new TurnError(400, `peer is bound to channel ${byPeer.number.toString(16)}`);
    }
    if (byNumber === undefined && a.cooldown.size > 0) {
      const cool = a.cooldown.get(number);
      if (cool !== undefined && cool.peerKey !== peerKey) {
        return new TurnError(
          400,
          `channel ${number.toString(16)} was bound to another peer less than 5 minutes ago`,
        );
      }
      for (const [n, c] of a.cooldown) {
        if (c.peerKey === peerKey && n !== number) {
          return new TurnError(400, `peer was bound to channel ${n.toString(16)} less than 5 minutes ago`);
        }
      }
      a.cooldown.delete(number);
    }
    let ch = byNumber;
    if (ch === undefined) {
      if (a.channels.size >= MAX_CHANNELS_PER_ALLOCATION) return new TurnError(400, 'too many channels');
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
        r.socket.close();
        this.forgetReservation(k, r);
      }
    }
    this.cache.sweep(now);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Removes every allocation that matches. */
  removeWhere(pred: (a: Allocation) => boolean, why: string): void {
    for (const a of [...this.all]) if (pred(a)) this.remove(a, why);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.removeWhere(() => true, 'server stopped');
    for (const [k, r] of [...this.reservations]) {
      r.socket.close();
      this.forgetReservation(k, r);
    }
    this.cache.clear();
  }

  /** Gives up a reservation (closing its socket) so that another relay thread can bind the port. */
  release(tokenHex: string): Claimed | undefined {
    const r = this.reservations.get(tokenHex);
    if (r === undefined) return undefined;
    this.forgetReservation(tokenHex, r);
    r.socket.close();
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

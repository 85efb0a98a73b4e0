/**
 * The relay as a library: listeners (transport/), the TURN state machine (turn/) and policy
 * (policy/) from one config, with start, reconfigure, dynamic endpoints, drain and stop, and plain
 * numeric stats. With admin.threads > 1 the other relay threads (threads.ts) sit behind the same
 * calls: each one runs a Relay of its own (worker.ts), and this one forwards every change to them.
 */
import { randomBytes } from 'node:crypto';
import {
  ConfigError,
  type ListenerConfig,
  listenerTransport,
  type StunnerConfig,
} from '../../contract/config/index.js';
import { unsupportedProblems } from '../../contract/support.js';
import { createLogger, type Logger, type ScopedLogger } from '../log/logger.js';
import { authFailureLimit, createAuthenticator, NonceIssuer } from '../policy/auth/index.js';
import { Perimeter } from '../policy/perimeter.js';
import { Quota, type QuotaLimits } from '../policy/quota.js';
import { relaySocketBudget, streamConnectionBudget } from '../transport/fd-limit.js';
import type { Listener } from '../transport/listener.js';
import { sameSocket } from '../transport/listener.js';
import { MAX_CONNECTIONS, StreamListener } from '../transport/stream/listener.js';
import { UdpListener } from '../transport/udp/listener.js';
import { udpRelayPorts } from '../transport/udp/relay-socket.js';
import { AllocationTable } from '../turn/allocation-table.js';
import type { Claimed, ClaimRemote } from '../turn/hooks.js';
import { TurnServer } from '../turn/server.js';
import { type ClusterStats, ListenerStats } from '../turn/stats.js';
import {
  effectiveThreads,
  RelayThreads,
  relaySlice,
  relayWorkerEntry,
  singleThreadReason,
} from './threads.js';

export { ClusterStats, ListenerStats } from '../turn/stats.js';

export interface RelayOptions {
  readonly config: StunnerConfig;
  /** @default a logger at the config's admin.loglevel, writing to stdout/stderr */
  readonly logger?: Logger;
  /** Keep this log level spec across reconfigurations (the CLI's -l). @default the config's */
  readonly logLevelOverride?: string;
  /** Clock in ms for lifetimes and nonces (tests). @default Date.now */
  readonly now?: () => number;
  /** DNS resolver for STRICT_DNS clusters (tests). @default dns.promises.lookup */
  readonly resolve?: (name: string) => Promise<string[]>;
  /** STRICT_DNS re-resolution interval. @default 5000 ms */
  readonly dnsIntervalMs?: number;
  /** Stream deadlines (tests). @default FIRST_FRAME_MS and FRAME_MS of transport/stream/listener.ts */
  readonly streamDeadlines?: { readonly firstFrameMs?: number; readonly frameMs?: number };
  /**
   * Script that starts relay worker threads when admin.threads > 1 on a Node with reusePort
   * (it must route a worker to runRelayWorker, as the stunnerd CLI does).
   * @default the one the CLI registered with setRelayWorkerEntry; none: a single thread
   */
  readonly workerEntry?: string;
  /** Internal (relay workers): bind UDP listeners with reusePort and run no threads of its own. */
  readonly worker?: {
    readonly index: number;
    readonly count: number;
    readonly nonceSecret: Uint8Array;
    /** How to ask the other threads for a reservation. */
    readonly claimRemote: ClaimRemote;
  };
}

/** Counters read at scrape time. Every value is a plain number updated in place. */
export interface RuntimeStats {
  /** Per listener name; survives listener restarts. */
  readonly listeners: ReadonlyMap<string, ListenerStats>;
  /** Per cluster name. rx = received from peers, tx = sent to peers. */
  readonly clusters: ReadonlyMap<string, ClusterStats>;
  readonly allocationsActive: number;
  readonly allocationsTotal: number;
}

export type RuntimeStatus = 'NOT-READY' | 'READY' | 'TERMINATING';

/** What a reconfiguration changed, by listener name. */
export interface RelayChanges {
  readonly opened: readonly string[];
  readonly restarted: readonly string[];
  readonly removed: readonly string[];
  /** Listeners that kept their socket but got a new relay port range. */
  readonly updated: readonly string[];
  readonly realmChanged: boolean;
  readonly logLevelChanged: boolean;
  readonly quotaChanged: boolean;
}

/** A reconfiguration that was applied, except for listeners that could not bind (`changes` says what did). */
export class ReconfigureError extends Error {
  constructor(
    message: string,
    readonly changes: RelayChanges,
  ) {
    super(message);
  }
}

export class Relay {
  private current: StunnerConfig;
  readonly logger: Logger;
  private readonly log: ScopedLogger;
  private readonly perimeter: Perimeter;
  private readonly quota: Quota;
  private readonly table: AllocationTable;
  private readonly turn: TurnServer;
  private readonly listeners = new Map<string, Listener>();
  private readonly listenerStats = new Map<string, ListenerStats>();
  private readonly logLevelOverride: string | undefined;
  private readonly now: () => number;
  private state: RuntimeStatus = 'NOT-READY';
  private started = false;
  readonly stats: RuntimeStats;
  /** Relay threads besides this one (admin.threads > 1 on Node >= 22.12), once started. */
  private threads: RelayThreads | undefined;
  private readonly threadCount_: number;
  private readonly threadIndex: number;
  private readonly nonceSecret: Buffer;
  private readonly workerEntry: string | undefined;
  private readonly streamDeadlines: { readonly firstFrameMs?: number; readonly frameMs?: number };

  constructor(opts: RelayOptions) {
    this.streamDeadlines = opts.streamDeadlines ?? {};
    const problems = unsupportedProblems(opts.config);
    if (problems.length > 0) throw new ConfigError(problems);
    this.current = opts.config;
    this.logLevelOverride = opts.logLevelOverride;
    this.workerEntry = opts.worker ? undefined : (opts.workerEntry ?? relayWorkerEntry());
    this.threadCount_ =
      opts.worker?.count ??
      (this.workerEntry === undefined ? 1 : effectiveThreads(opts.config.admin.threads));
    this.threadIndex = opts.worker?.index ?? 0;
    this.nonceSecret = opts.worker ? Buffer.from(opts.worker.nonceSecret) : randomBytes(32);
    this.logger = opts.logger ?? createLogger(opts.logLevelOverride ?? opts.config.admin.loglevel);
    this.log = this.logger.scope('stunnerd');
    const requested = opts.config.admin.threads;
    if (opts.worker === undefined && requested > 1 && this.threadCount_ === 1)
      this.log.warn(`admin.threads is ${requested}, but ${singleThreadReason()}: relaying on 1 thread`);
    this.now = opts.now ?? Date.now;
    this.perimeter = new Perimeter({
      logger: this.logger.scope('perimeter'),
      ...(opts.resolve ? { resolve: opts.resolve } : {}),
      ...(opts.dnsIntervalMs ? { dnsIntervalMs: opts.dnsIntervalMs } : {}),
    });
    this.perimeter.load(opts.config);
    this.quota = new Quota(quotaLimits(opts.config));
    this.table = new AllocationTable({
      perimeter: this.perimeter,
      quota: this.quota,
      ports: udpRelayPorts,
      logger: this.logger.scope('turn'),
      now: this.now,
      claimRemote: opts.worker?.claimRemote ?? ((token) => this.claimFromThreads(token)),
      // Every relay thread shares the process's descriptors.
      socketBudget: Math.floor(relaySocketBudget() / this.threadCount_),
    });
    this.turn = new TurnServer({
      table: this.table,
      logger: this.logger.scope('turn'),
      // One secret for every relay thread, so that a nonce is good on any of them.
      nonces: new NonceIssuer({ now: this.now, secret: this.nonceSecret }),
      credentials: createAuthenticator(opts.config.auth, this.now),
      authLimit: authFailureLimit(opts.config.admin.auth_failures_per_ip, this.now),
    });
    const self = this;
    this.stats = {
      get listeners(): ReadonlyMap<string, ListenerStats> {
        return self.threads?.listenerStats(self.listenerStats) ?? self.listenerStats;
      },
      get clusters(): ReadonlyMap<string, ClusterStats> {
        const own = new Map<string, ClusterStats>();
        for (const name of self.perimeter.clusterNames()) {
          const c = self.perimeter.cluster(name);
          if (c) own.set(name, c.stats);
        }
        return self.threads?.clusterStats(own) ?? own;
      },
      get allocationsActive(): number {
        return self.allocationCount();
      },
      get allocationsTotal(): number {
        return self.table.allocationsTotal + (self.threads?.allocationsTotal() ?? 0);
      },
    };
  }

  /** The config being served. */
  get config(): StunnerConfig {
    return this.current;
  }

  /** Binds every listener; rejects (with everything closed again) when one cannot bind. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      for (const l of this.current.listeners) await this.openListener(l);
      if (this.threadCount_ > 1 && this.workerEntry !== undefined) {
        this.threads = new RelayThreads({
          entry: this.workerEntry,
          count: this.threadCount_,
          config: this.current,
          logLevel: this.logLevelOverride ?? this.current.admin.loglevel,
          nonceSecret: new Uint8Array(this.nonceSecret),
          log: this.log,
          releaseOwn: (token) => this.releaseReservation(token),
        });
        await this.threads.start();
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
    await this.perimeter.start();
    this.table.start();
    this.state = 'READY';
    this.log.info(
      `serving ${this.current.listeners.length} listener(s): ${this.current.listeners.map((l) => `${l.name} ${l.protocol} ${l.address}:${l.port}`).join(', ') || 'none'}`,
    );
  }

  private claimFromThreads(token: string): Promise<Claimed | undefined> {
    return this.threads?.claim(token) ?? Promise.resolve(undefined);
  }

  /** Worker side of a claim: give up a reservation this thread holds. */
  releaseReservation(token: string): Claimed | undefined {
    return this.table.release(token);
  }

  private statsFor(name: string): ListenerStats {
    let s = this.listenerStats.get(name);
    if (!s) {
      s = new ListenerStats();
      this.listenerStats.set(name, s);
    }
    return s;
  }

  /** This thread's view of a listener: UDP listeners relay from this thread's slice of the range. */
  private ownSlice(cfg: ListenerConfig): ListenerConfig {
    if (this.threadCount_ <= 1 || cfg.protocol !== 'TURN-UDP' || this.workerEntry === undefined) return cfg;
    const s = relaySlice(cfg.min_relay_port, cfg.max_relay_port, this.threadIndex, this.threadCount_);
    return { ...cfg, min_relay_port: s.min, max_relay_port: s.max };
  }

  private async openListener(raw: ListenerConfig): Promise<void> {
    const cfg = this.ownSlice(raw);
    const stats = this.statsFor(cfg.name);
    const l: Listener =
      cfg.protocol === 'TURN-UDP'
        ? new UdpListener(cfg, stats, this.turn, this.table, this.threadCount_ > 1)
        : new StreamListener(cfg, stats, this.turn, this.table, this.logger.scope('turn'), {
            ...streamLimits(this.current),
            ...this.streamDeadlines,
          });
    try {
      await l.start();
    } catch (e) {
      this.table.removeListener(l, 'listener failed');
      throw new Error(
        `listener ${cfg.name}: cannot bind ${cfg.protocol} ${cfg.address}:${cfg.port}: ${(e as Error).message}`,
      );
    }
    this.listeners.set(cfg.name, l);
    this.log.info(`listener ${cfg.name} (${cfg.protocol}) bound on ${cfg.address}:${l.port}`);
  }

  private async closeListener(l: Listener, why: string): Promise<void> {
    this.listeners.delete(l.name);
    this.table.removeListener(l, why);
    await l.close();
  }

  /**
   * Applies a new config and says what changed. Listeners restart only when their protocol,
   * address or port change, or when the realm changes; routes, credentials, log level, quotas and
   * a TLS listener's cert and key apply in place and existing allocations survive. Throws
   * ConfigError (changing nothing) for an unsupported config, and ReconfigureError (with the rest
   * applied) when a listener cannot bind or refuses its new cert and key.
   */
  async reconfigure(config: StunnerConfig): Promise<RelayChanges> {
    const problems = unsupportedProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
    const old = this.current;
    const realmChanged = this.turn.reconfigure(createAuthenticator(config.auth, this.now));
    const logLevelChanged =
      this.logLevelOverride === undefined && old.admin.loglevel !== config.admin.loglevel;
    if (logLevelChanged) this.logger.setLevel(config.admin.loglevel);
    this.current = config;
    const quotaChanged = this.quota.reconfigure(quotaLimits(config));
    if (config.admin.auth_failures_per_ip !== old.admin.auth_failures_per_ip)
      this.turn.authLimit = authFailureLimit(config.admin.auth_failures_per_ip, this.now);
    this.perimeter.load(config);
    const opened: string[] = [];
    const restarted: string[] = [];
    const removed: string[] = [];
    const updated: string[] = [];
    const changes: RelayChanges = {
      opened,
      restarted,
      removed,
      updated,
      realmChanged,
      logLevelChanged,
      quotaChanged,
    };
    if (!this.started) return changes;
    const wanted = new Map(config.listeners.map((l) => [l.name, l]));
    const toOpen: ListenerConfig[] = [];
    const errors: string[] = [];
    for (const l of [...this.listeners.values()]) {
      const next = wanted.get(l.name);
      if (next === undefined) {
        this.log.info(`listener ${l.name} removed`);
        await this.closeListener(l, 'listener removed');
        removed.push(l.name);
      } else if (realmChanged || !sameSocket(l.config, next)) {
        this.log.info(`listener ${l.name} restarting: ${realmChanged ? 'realm changed' : 'socket changed'}`);
        await this.closeListener(l, 'listener restarted');
        toOpen.push(next);
      } else {
        if (l instanceof StreamListener) l.setLimits(streamLimits(config));
        try {
          if (l.reconfigure(this.ownSlice(next))) updated.push(l.name);
        } catch (e) {
          // e.g. a TLS cert and key that do not match: the listener keeps its previous pair.
          errors.push((e as Error).message);
          this.log.error((e as Error).message);
        }
      }
    }
    for (const l of config.listeners) {
      if (!this.listeners.has(l.name) && !toOpen.includes(l)) toOpen.push(l);
    }
    for (const l of toOpen) {
      const wasThere = old.listeners.some((o) => o.name === l.name);
      try {
        await this.openListener(l);
        (wasThere ? restarted : opened).push(l.name);
      } catch (e) {
        errors.push((e as Error).message);
        this.log.error((e as Error).message);
        // Keep serving on the previous socket of a restarted listener rather than on none.
        const before = old.listeners.find((o) => o.name === l.name);
        if (before !== undefined && !this.listeners.has(l.name)) {
          try {
            await this.openListener(before);
            this.log.warn(
              `listener ${l.name} keeps its previous ${before.protocol} ${before.address}:${before.port}`,
            );
          } catch {
            // the old socket is gone too; the error above says why the new one failed
          }
        }
      }
    }
    this.threads?.reconfigure(config);
    if (config.admin.threads !== old.admin.threads) {
      this.log.warn('admin.threads changes take effect at the next restart');
    }
    await this.perimeter.resolveAll();
    this.log.info('configuration applied');
    if (errors.length > 0) throw new ReconfigureError(errors.join('; '), changes);
    return changes;
  }

  setDynamicEndpoints(cluster: string, ips: readonly string[] | undefined): void {
    this.perimeter.setDynamicEndpoints(cluster, ips);
    this.threads?.setDynamicEndpoints(cluster, ips);
  }

  allocationCount(): number {
    return this.table.count + (this.threads?.allocations() ?? 0);
  }

  /** Relay threads in use (1 unless admin.threads > 1 on a Node with reusePort). */
  threadCount(): number {
    return 1 + (this.threads?.size ?? 0);
  }

  /** Bound port of a listener (after start), e.g. for configs using port 0 in tests. */
  listenerPort(name: string): number | undefined {
    return this.listeners.get(name)?.port;
  }

  /** Names of the running listeners. */
  listenerNames(): string[] {
    return [...this.listeners.keys()];
  }

  /** NOT-READY before start, READY while serving, TERMINATING once draining or stopped. */
  get status_(): RuntimeStatus {
    return this.state;
  }

  status(): object {
    const c = this.current;
    const own = this.table.countByListener();
    const stats = this.stats.listeners;
    // UDP allocations live on every relay thread (a UDP listener's connections are its
    // allocations, summed over threads); TCP and TLS listeners run on this thread only.
    const allocationsOf = (l: ListenerConfig): number =>
      listenerTransport(l.protocol) === 'udp'
        ? (stats.get(l.name)?.connections ?? 0)
        : (own.get(l.name) ?? 0);
    return {
      admin: {
        name: c.admin.name,
        loglevel: this.logger.spec,
        user_quota: c.admin.user_quota,
        max_allocations: c.admin.max_allocations,
      },
      auth: { type: c.auth.type, realm: c.auth.realm },
      listeners: c.listeners.map((l) => ({
        name: l.name,
        protocol: l.protocol,
        address: l.address,
        port: this.listeners.get(l.name)?.port ?? l.port,
        public_address: l.public_address,
        public_port: l.public_port,
        routes: l.routes,
        running: this.listeners.has(l.name),
        allocations: allocationsOf(l),
      })),
      clusters: this.perimeter.describe(),
      allocationCount: this.allocationCount(),
      threads: this.threadCount(),
      status: this.state,
    };
  }

  /** Stops taking new allocations (508 "Server Draining", so clients try elsewhere); existing ones keep relaying. */
  drain(): void {
    this.quota.drain();
    this.threads?.drain();
    this.state = 'TERMINATING';
    this.log.info(`draining: refusing new allocations, ${this.table.count} active`);
  }

  get draining(): boolean {
    return this.quota.draining;
  }

  /** Closes every listener, allocation and timer. */
  async stop(): Promise<void> {
    this.state = 'TERMINATING';
    await this.threads?.stop();
    this.threads = undefined;
    this.table.stop();
    this.perimeter.stop();
    for (const l of [...this.listeners.values()]) await this.closeListener(l, 'server stopped');
    this.started = false;
  }
}

function quotaLimits(config: StunnerConfig): QuotaLimits {
  return {
    userQuota: config.admin.user_quota,
    maxAllocations: config.admin.max_allocations,
    clientQuota: config.admin.client_quota,
  };
}

/** Per-IP limits of the stream listeners; the listener cap stays below the descriptor limit. */
function streamLimits(config: StunnerConfig): {
  perIp: number;
  ratePerIp: number;
  maxConnections: number;
} {
  const streams = Math.max(1, config.listeners.filter((l) => l.protocol !== 'TURN-UDP').length);
  return {
    perIp: config.admin.max_connections_per_ip,
    ratePerIp: config.admin.new_connections_per_ip,
    maxConnections: Math.min(MAX_CONNECTIONS, Math.floor(streamConnectionBudget() / streams)),
  };
}

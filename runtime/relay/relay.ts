/**
 * The relay daemon as a library: listeners, perimeter, allocations and auth from one config, with
 * hot reconfiguration, dynamic endpoints, draining and plain numeric stats.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, type ListenerConfig, type StunnerConfig } from '../../contract/config/index.js';
import { unsupportedProblems } from '../../contract/support.js';
import { createLogger, type Logger, type ScopedLogger } from '../log/logger.js';
import { type Authenticator, createAuthenticator, NonceIssuer } from '../policy/auth/index.js';
import { type ClusterStats, ClusterStats as ClusterStatsImpl, Perimeter } from '../policy/perimeter.js';
import { StreamListener } from '../transport/stream/listener.js';
import { UdpListener } from '../transport/udp/listener.js';
import { AllocationManager } from '../turn/allocation-table.js';
import { TurnServer } from '../turn/server.js';
import { ListenerStats } from '../turn/stats.js';
import {
  type Claimed,
  effectiveThreads,
  RelayWorker,
  relaySlice,
  relayWorkerEntry,
  reusePortSupported,
  WORKER_KIND,
  type WorkerStats,
  workerConfig,
} from './threads.js';

export { ClusterStats } from '../policy/perimeter.js';
export { ListenerStats } from '../turn/stats.js';

export interface StunnerdOptions {
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
  /**
   * Script that starts relay worker threads when admin.threads > 1 on a Node with reusePort
   * (it must route a worker to runRelayWorker, as the stunnerd CLI does).
   * @default the one the CLI registered with setRelayWorkerEntry; none: a single thread
   */
  readonly workerEntry?: string;
  /** Internal (relay workers): bind UDP listeners with reusePort and run no threads of its own. */
  readonly worker?: { readonly index: number; readonly count: number; readonly nonceSecret: Uint8Array };
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

type Listener = UdpListener | StreamListener;

export type RuntimeStatus = 'NOT-READY' | 'READY' | 'TERMINATING';

/** Problems this runtime has with a valid config (features it does not implement). */
function sameSocket(a: ListenerConfig, b: ListenerConfig): boolean {
  return (
    a.protocol === b.protocol &&
    a.address === b.address &&
    a.port === b.port &&
    (a.cert ?? '') === (b.cert ?? '') &&
    (a.key ?? '') === (b.key ?? '')
  );
}

export class Stunnerd {
  config: StunnerConfig;
  readonly logger: Logger;
  private readonly log: ScopedLogger;
  private readonly perimeter: Perimeter;
  private readonly manager: AllocationManager;
  private readonly turn: TurnServer;
  private readonly listeners = new Map<string, Listener>();
  private readonly listenerStats = new Map<string, ListenerStats>();
  private readonly logLevelOverride: string | undefined;
  private state: RuntimeStatus = 'NOT-READY';
  private started = false;
  readonly stats: RuntimeStats;
  /** Relay threads besides this one (admin.threads > 1 on Node >= 22.12). */
  private readonly workers: RelayWorker[] = [];
  private readonly threads: number;
  private readonly threadIndex: number;
  private readonly nonceSecret: Buffer;
  private readonly workerEntry: string | undefined;

  constructor(opts: StunnerdOptions) {
    const problems = unsupportedProblems(opts.config);
    if (problems.length > 0) throw new ConfigError(problems);
    this.config = opts.config;
    this.logLevelOverride = opts.logLevelOverride;
    this.workerEntry = opts.worker ? undefined : (opts.workerEntry ?? relayWorkerEntry());
    this.threads =
      opts.worker?.count ??
      (this.workerEntry === undefined ? 1 : effectiveThreads(opts.config.admin.threads));
    this.threadIndex = opts.worker?.index ?? 0;
    this.nonceSecret = opts.worker ? Buffer.from(opts.worker.nonceSecret) : randomBytes(32);
    this.logger = opts.logger ?? createLogger(opts.logLevelOverride ?? opts.config.admin.loglevel);
    this.log = this.logger.scope('stunnerd');
    const requested = opts.config.admin.threads;
    if (opts.worker === undefined && requested > 1 && this.threads === 1)
      this.log.warn(`admin.threads is ${requested}, but ${singleThreadReason()}: relaying on 1 thread`);
    const now = opts.now ?? Date.now;
    this.perimeter = new Perimeter({
      logger: this.logger.scope('perimeter'),
      ...(opts.resolve ? { resolve: opts.resolve } : {}),
      ...(opts.dnsIntervalMs ? { dnsIntervalMs: opts.dnsIntervalMs } : {}),
    });
    this.perimeter.load(opts.config);
    this.manager = new AllocationManager({
      perimeter: this.perimeter,
      logger: this.logger.scope('turn'),
      now,
      userQuota: opts.config.admin.user_quota,
      maxAllocations: opts.config.admin.max_allocations,
    });
    this.turn = new TurnServer({
      manager: this.manager,
      logger: this.logger.scope('turn'),
      // One secret for every relay thread, so that a nonce is good on any of them.
      nonces: new NonceIssuer({ now, secret: this.nonceSecret }),
      authenticator: this.makeAuthenticator(opts.config, now),
    });
    const self = this;
    this.stats = {
      get listeners(): ReadonlyMap<string, ListenerStats> {
        if (self.workers.length === 0) return self.listenerStats;
        return sumStats(self.listenerStats, self.workers, 'listeners', () => new ListenerStats());
      },
      get clusters(): ReadonlyMap<string, ClusterStats> {
        const own = new Map<string, ClusterStats>();
        for (const name of self.perimeter.clusterNames()) {
          const c = self.perimeter.cluster(name);
          if (c) own.set(name, c.stats);
        }
        if (self.workers.length === 0) return own;
        return sumStats(own, self.workers, 'clusters', () => new ClusterStatsImpl());
      },
      get allocationsActive(): number {
        return self.allocationCount();
      },
      get allocationsTotal(): number {
        let n = self.manager.allocationsTotal;
        for (const w of self.workers) n += w.stats?.allocationsTotal ?? 0;
        return n;
      },
    };
  }

  private makeAuthenticator(config: StunnerConfig, now: () => number = this.manager.now): Authenticator {
    // createAuthenticator's clock is unix ms, as ours.
    return createAuthenticator(config.auth, now);
  }

  /** Binds every listener; rejects (with everything closed again) when one cannot bind. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      for (const l of this.config.listeners) await this.openListener(l);
      if (this.threads > 1 && this.workerEntry !== undefined) await this.startWorkers();
    } catch (e) {
      await this.stop();
      throw e;
    }
    await this.perimeter.start();
    this.manager.start();
    this.state = 'READY';
    this.log.info(
      `serving ${this.config.listeners.length} listener(s): ${this.config.listeners.map((l) => `${l.name} ${l.protocol} ${l.address}:${l.port}`).join(', ') || 'none'}`,
    );
  }

  private statsFor(name: string): ListenerStats {
    let s = this.listenerStats.get(name);
    if (!s) {
      s = new ListenerStats();
      this.listenerStats.set(name, s);
    }
    return s;
  }

  private async startWorkers(): Promise<void> {
    const level = this.logLevelOverride ?? this.config.admin.loglevel;
    for (let i = 1; i < this.threads; i++) {
      const w = new RelayWorker(
        this.workerEntry!,
        {
          kind: WORKER_KIND,
          index: i,
          count: this.threads,
          config: workerConfig(this.config, i, this.threads),
          logLevel: level,
          nonceSecret: new Uint8Array(this.nonceSecret),
        },
        (gone, code) => {
          const at = this.workers.indexOf(gone);
          if (at >= 0) this.workers.splice(at, 1);
          if (this.state !== 'TERMINATING') this.log.error(`relay thread ${i} exited (${code})`);
        },
        (from, token) => this.claimFor(token, from),
      );
      this.workers.push(w);
    }
    this.manager.claimRemote = (token) => this.claimFor(token, undefined);
    await Promise.all(this.workers.map((w) => w.started()));
    this.log.info(`relaying on ${this.threads} threads (reusePort)`);
  }

  /**
   * EVEN-PORT reservations across relay threads: the follow-up Allocate may land on another thread,
   * which then asks the holder to release the port and binds it itself.
   */
  private async claimFor(token: string, from: RelayWorker | undefined): Promise<Claimed | undefined> {
    if (from !== undefined) {
      const own = this.manager.release(token);
      if (own) return own;
    }
    for (const w of this.workers) {
      if (w === from) continue;
      const got = await w.release(token);
      if (got) return got;
    }
    return undefined;
  }

  /** Worker side of claimFor: give up a reservation this thread holds. */
  releaseReservation(token: string): Claimed | undefined {
    return this.manager.release(token);
  }

  /** Worker side: how to ask the other threads for a reservation. */
  setClaimRemote(fn: (token: string) => Promise<Claimed | undefined>): void {
    this.manager.claimRemote = fn;
  }

  /** This thread's view of a listener: UDP listeners relay from this thread's slice of the range. */
  private ownSlice(cfg: ListenerConfig): ListenerConfig {
    if (this.threads <= 1 || cfg.protocol !== 'TURN-UDP' || this.workerEntry === undefined) return cfg;
    const s = relaySlice(cfg.min_relay_port, cfg.max_relay_port, this.threadIndex, this.threads);
    return { ...cfg, min_relay_port: s.min, max_relay_port: s.max };
  }

  private async openListener(raw: ListenerConfig): Promise<void> {
    const cfg = this.ownSlice(raw);
    const stats = this.statsFor(cfg.name);
    const l: Listener =
      cfg.protocol === 'TURN-UDP'
        ? new UdpListener(cfg, stats, this.turn, this.threads > 1)
        : new StreamListener(cfg, stats, this.turn, this.manager, this.logger.scope('turn'));
    try {
      await l.start();
    } catch (e) {
      throw new Error(
        `listener ${cfg.name}: cannot bind ${cfg.protocol} ${cfg.address}:${cfg.port}: ${(e as Error).message}`,
      );
    }
    this.listeners.set(cfg.name, l);
    this.log.info(`listener ${cfg.name} (${cfg.protocol}) bound on ${cfg.address}:${l.port}`);
  }

  private async closeListener(l: Listener, why: string): Promise<void> {
    this.listeners.delete(l.name);
    this.manager.removeWhere((a) => a.listener === l, why);
    await l.close();
  }

  /**
   * Applies a new config. Listeners restart only when their protocol, address, port, cert or key
   * change, or when the realm changes; routes, credentials, log level and quotas apply in place and
   * existing allocations survive. Throws (changing nothing) for an unsupported config.
   */
  async reconfigure(config: StunnerConfig): Promise<void> {
    const problems = unsupportedProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
    const old = this.config;
    const authenticator = this.makeAuthenticator(config);
    const realmChanged = old.auth.realm !== config.auth.realm;
    if (this.logLevelOverride === undefined && old.admin.loglevel !== config.admin.loglevel) {
      this.logger.setLevel(config.admin.loglevel);
    }
    this.config = config;
    this.manager.userQuota = config.admin.user_quota;
    this.manager.maxAllocations = config.admin.max_allocations;
    this.turn.authenticator = authenticator;
    this.perimeter.load(config);
    if (!this.started) return;
    const wanted = new Map(config.listeners.map((l) => [l.name, l]));
    const toOpen: ListenerConfig[] = [];
    for (const l of [...this.listeners.values()]) {
      const next = wanted.get(l.name);
      if (next === undefined) {
        this.log.info(`listener ${l.name} removed`);
        await this.closeListener(l, 'listener removed');
      } else if (realmChanged || !sameSocket(l.config, next)) {
        this.log.info(`listener ${l.name} restarting: ${realmChanged ? 'realm changed' : 'socket changed'}`);
        await this.closeListener(l, 'listener restarted');
        toOpen.push(next);
      } else {
        l.update(this.ownSlice(next));
      }
    }
    for (const l of config.listeners) {
      if (!this.listeners.has(l.name) && !toOpen.includes(l)) toOpen.push(l);
    }
    const errors: string[] = [];
    for (const l of toOpen) {
      try {
        await this.openListener(l);
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
    for (let i = 0; i < this.workers.length; i++) {
      this.workers[i]!.post({ type: 'reconfigure', config: workerConfig(config, i + 1, this.threads) });
    }
    if (config.admin.threads !== old.admin.threads) {
      this.log.warn('admin.threads changes take effect at the next restart');
    }
    await this.perimeter.resolveAll();
    this.log.info('configuration applied');
    if (errors.length > 0) throw new Error(errors.join('; '));
  }

  setDynamicEndpoints(cluster: string, ips: readonly string[] | undefined): void {
    this.perimeter.setDynamicEndpoints(cluster, ips);
    for (const w of this.workers) w.post({ type: 'dynamic', cluster, ips });
  }

  allocationCount(): number {
    let n = this.manager.count;
    for (const w of this.workers) n += w.stats?.allocations ?? 0;
    return n;
  }

  /** Relay threads in use (1 unless admin.threads > 1 on a Node with reusePort). */
  threadCount(): number {
    return 1 + this.workers.length;
  }

  /** Bound port of a listener (after start), e.g. for configs using port 0 in tests. */
  listenerPort(name: string): number | undefined {
    return this.listeners.get(name)?.port;
  }

  /** Names of the running listeners. */
  listenerNames(): string[] {
    return [...this.listeners.keys()];
  }

  get status_(): RuntimeStatus {
    return this.state;
  }

  status(): object {
    const c = this.config;
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
      })),
      clusters: this.perimeter.describe(),
      allocationCount: this.allocationCount(),
      threads: this.threadCount(),
      status: this.state,
    };
  }

  /** Stops taking new allocations (508 "Server Draining", so clients try elsewhere); existing ones keep relaying. */
  drain(): void {
    this.manager.draining = true;
    for (const w of this.workers) w.post({ type: 'drain' });
    this.state = 'TERMINATING';
    this.log.info(`draining: refusing new allocations, ${this.manager.count} active`);
  }

  get draining(): boolean {
    return this.manager.draining;
  }

  /** Closes every listener, allocation and timer. */
  async stop(): Promise<void> {
    this.state = 'TERMINATING';
    await Promise.all(this.workers.map((w) => w.stop()));
    this.workers.length = 0;
    this.manager.stop();
    this.perimeter.stop();
    for (const l of [...this.listeners.values()]) await this.closeListener(l, 'server stopped');
    this.started = false;
  }
}

/** Why more relay threads than one cannot run here. */
function singleThreadReason(): string {
  return reusePortSupported()
    ? 'this embedded runtime has no relay worker entry'
    : `Node.js ${process.versions.node} ignores dgram's reusePort (relay threads need 22.12 or later)`;
}

/** This thread's counters plus the latest ones each relay thread reported (about once a second). */
function sumStats<T extends object>(
  own: ReadonlyMap<string, T>,
  workers: readonly RelayWorker[],
  kind: keyof Pick<WorkerStats, 'listeners' | 'clusters'>,
  make: () => T,
): Map<string, T> {
  const out = new Map<string, T>();
  const add = (name: string, src: object) => {
    let t = out.get(name);
    if (!t) {
      t = make();
      out.set(name, t);
    }
    const dst = t as Record<string, number>;
    for (const [k, v] of Object.entries(src)) if (typeof v === 'number') dst[k] = (dst[k] ?? 0) + v;
  };
  for (const [name, s] of own) add(name, s);
  for (const w of workers) {
    for (const [name, s] of Object.entries(w.stats?.[kind] ?? {})) add(name, s);
  }
  return out;
}

/**
 * The relay daemon as a library: listeners, perimeter, allocations and auth from one config, with
 * hot reconfiguration, dynamic endpoints, draining and plain numeric stats.
 */
import { type Authenticator, createAuthenticator, NonceIssuer } from './auth/index.js';
import { ConfigError, type ConfigProblem, type ListenerConfig, type StunnerConfig } from './config/index.js';
import { StreamListener } from './listeners/stream-listener.js';
import { UdpListener } from './listeners/udp-listener.js';
import { createLogger, type Logger, type ScopedLogger } from './log/logger.js';
import { type ClusterStats, Perimeter } from './perimeter/perimeter.js';
import { AllocationManager } from './turn/allocation-manager.js';
import { ListenerStats } from './turn/stats.js';
import { TurnServer } from './turn/turn-server.js';

export { ClusterStats } from './perimeter/perimeter.js';
export { ListenerStats } from './turn/stats.js';

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
export function unsupportedProblems(config: StunnerConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  config.listeners.forEach((l, i) => {
    if (l.protocol === 'TURN-DTLS') {
      out.push({
        path: `listeners[${i}].protocol`,
        message: 'TURN-DTLS is not supported by this runtime yet',
      });
    }
  });
  return out;
}

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

  constructor(opts: StunnerdOptions) {
    const problems = unsupportedProblems(opts.config);
    if (problems.length > 0) throw new ConfigError(problems);
    this.config = opts.config;
    this.logLevelOverride = opts.logLevelOverride;
    this.logger = opts.logger ?? createLogger(opts.logLevelOverride ?? opts.config.admin.loglevel);
    this.log = this.logger.scope('stunnerd');
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
      nonces: new NonceIssuer({ now }),
      authenticator: this.makeAuthenticator(opts.config, now),
    });
    const self = this;
    const clusters = new Map<string, ClusterStats>();
    this.stats = {
      listeners: this.listenerStats,
      get clusters(): ReadonlyMap<string, ClusterStats> {
        clusters.clear();
        for (const name of self.perimeter.clusterNames()) {
          const c = self.perimeter.cluster(name);
          if (c) clusters.set(name, c.stats);
        }
        return clusters;
      },
      get allocationsActive(): number {
        return self.manager.count;
      },
      get allocationsTotal(): number {
        return self.manager.allocationsTotal;
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

  private async openListener(cfg: ListenerConfig): Promise<void> {
    const stats = this.statsFor(cfg.name);
    const l: Listener =
      cfg.protocol === 'TURN-UDP'
        ? new UdpListener(cfg, stats, this.turn)
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
        l.update(next);
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
      }
    }
    await this.perimeter.resolveAll();
    this.log.info('configuration applied');
    if (errors.length > 0) throw new Error(errors.join('; '));
  }

  setDynamicEndpoints(cluster: string, ips: readonly string[] | undefined): void {
    this.perimeter.setDynamicEndpoints(cluster, ips);
  }

  allocationCount(): number {
    return this.manager.count;
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
      allocationCount: this.manager.count,
      status: this.state,
    };
  }

  /** Stops taking new allocations (508 "Server Draining", so clients try elsewhere); existing ones keep relaying. */
  drain(): void {
    this.manager.draining = true;
    this.state = 'TERMINATING';
    this.log.info(`draining: refusing new allocations, ${this.manager.count} active`);
  }

  get draining(): boolean {
    return this.manager.draining;
  }

  /** Closes every listener, allocation and timer. */
  async stop(): Promise<void> {
    this.state = 'TERMINATING';
    this.manager.stop();
    this.perimeter.stop();
    for (const l of [...this.listeners.values()]) await this.closeListener(l, 'server stopped');
    this.started = false;
  }
}

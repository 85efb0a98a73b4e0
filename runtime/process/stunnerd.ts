/**
 * The stunnerd process: serve a config, follow it as it changes, and operate day 2.
 *
 * Composition: load the config, start the relay (relay/), then the health and metrics servers,
 * the Kubernetes watchers (endpoint and public address discovery, in a pod) and the config file
 * watcher (hot reload). SIGTERM drains: readiness goes 503, new Allocates are refused, existing
 * allocations relay until they end or the grace period runs out; then everything stops, exit 0.
 */

import { readFile } from 'node:fs/promises';
import {
  type AdminEndpoint,
  healthcheckEndpointOf,
  metricsEndpointOf,
} from '../../contract/admin-endpoint.js';
import { ConfigError, type StunnerConfig, validateConfigText } from '../../contract/config/index.js';
import { RuntimeEnv } from '../../contract/pod-env.js';
import type { EndpointDiscovery } from '../cluster-watch/endpoint-discovery.js';
import { inCluster } from '../cluster-watch/in-cluster.js';
import type { KubeApiOptions } from '../cluster-watch/kube-config.js';
import { shortListenerName } from '../cluster-watch/listener-name.js';
import type { PublicAddress, PublicAddressWatcher } from '../cluster-watch/public-address.js';
import { createLogger, type Logger, type ScopedLogger } from '../log/logger.js';
import { ReconfigureError, Relay, type RelayChanges } from '../relay/relay.js';
import { udpBatchStatus } from '../transport/native/udp-batch.js';
import { ConfigWatcher } from './config-watcher.js';
import { AdminServer } from './health/admin-server.js';
import { addHealthRoutes, type GatewayStatus } from './health/health.js';
import { bindKey } from './health/http-endpoint.js';
import { createMetrics, type MetricsSource } from './metrics.js';

export const DEFAULT_GRACE_PERIOD_MS = 3600_000;

export interface KubernetesWatchOptions extends KubeApiOptions {
  /** Namespace of the gateway. @default $STUNNER_NAMESPACE, else the `ns` of admin.name `ns/gateway` */
  readonly namespace?: string;
  /** The gateway's Service name. @default $STUNNER_NAME, else the `gateway` of admin.name */
  readonly service?: string;
  /** Node of this pod, for the NodePort fallback. @default $STUNNER_NODENAME (none: no fallback) */
  readonly nodeName?: string;
  /** Discover Service endpoints for STRICT_DNS clusters. @default true */
  readonly endpoints?: boolean;
  /** Discover the gateway's public address. @default true */
  readonly publicAddress?: boolean;
  /** @default 250 */
  readonly initialBackoffMs?: number;
  /** @default 30000 */
  readonly maxBackoffMs?: number;
}

export interface StunnerdProcessOptions {
  /** Config file to serve from (and to watch for hot reload). */
  readonly configFile?: string;
  /** Config to serve when there is no file (e.g. the one-line `turn://` form). */
  readonly config?: StunnerConfig;
  /** @default a logger at admin.loglevel (or logLevelOverride) */
  readonly logger?: Logger;
  /** Log level spec that wins over admin.loglevel across reloads (the CLI's -l). @default none */
  readonly logLevelOverride?: string;
  /** Hot reload the config file. @default true when configFile is given */
  readonly watchConfig?: boolean;
  /** Config watcher safety-net poll interval. @default 2000 */
  readonly configPollMs?: number;
  /** Kubernetes watchers; `false` disables them. @default enabled when running in a pod */
  readonly kubernetes?: KubernetesWatchOptions | false;
  /** Longest drain after SIGTERM. @default $STUNNERD_GRACE_PERIOD seconds, else 3600 s */
  readonly gracePeriodMs?: number;
  /** Install signal handlers: SIGTERM drains (a second one stops), SIGINT stops at once. @default true */
  readonly handleSignals?: boolean;
  /**
   * Hook for the ICE auth service: called with the gateway (`ns/name`) and its public address
   * and ports whenever they change, e.g. `IceAuthServer.setPublicAddress` of an in-process server.
   * @default no hook
   */
  readonly onPublicAddress?: (
    gateway: string,
    address: string | undefined,
    ports?: ReadonlyMap<string, number>,
  ) => void;
}

/** A running stunnerd process. `done` resolves with the process exit code once everything has stopped. */
export class StunnerdProcess {
  readonly done: Promise<number>;
  private resolveDone!: (code: number) => void;
  private draining = false;
  private stopping: Promise<void> | undefined;
  private adminServers: AdminServer[] = [];
  private configWatcher: ConfigWatcher | undefined;
  private discovery: EndpointDiscovery | undefined;
  private publicWatcher: PublicAddressWatcher | undefined;
  private publicAddress: PublicAddress | undefined;
  private gateway: string | undefined;
  private readonly log: ScopedLogger;
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];
  private drainTimer: NodeJS.Timeout | undefined;
  private readonly metrics;

  constructor(
    readonly relay: Relay,
    private config: StunnerConfig,
    private readonly logger: Logger,
    private readonly opts: StunnerdProcessOptions,
  ) {
    this.log = logger.scope('daemon');
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.metrics = createMetrics(metricsSourceOf(relay));
  }

  /** READY once serving, TERMINATING while draining. */
  state(): GatewayStatus {
    if (this.draining || this.stopping) return 'TERMINATING';
    return this.relay.status_;
  }

  /** The /status document. Credentials never appear in it. */
  status(): Record<string, unknown> {
    const base = { ...(this.relay.status() as Record<string, unknown>) };
    return {
      ...base,
      admin: {
        ...(base.admin as Record<string, unknown> | undefined),
        name: this.config.admin.name,
        loglevel: this.logger.spec,
        healthcheck_endpoint: this.config.admin.healthcheck_endpoint,
        metrics_endpoint: this.config.admin.metrics_endpoint,
      },
      auth: { type: this.config.auth.type, realm: this.config.auth.realm },
      allocationCount: this.relay.allocationCount(),
      publicAddresses: this.publicAddresses(),
      ...(this.discovery && { dynamicEndpoints: this.discovery.snapshot() }),
      status: this.state(),
    };
  }

  /** Public address per listener: an explicit public_address wins, then what the watcher found. */
  publicAddresses(): { listener: string; address: string; port: number; source: string }[] {
    const out: { listener: string; address: string; port: number; source: string }[] = [];
    for (const l of this.config.listeners) {
      if (l.public_address) {
        out.push({
          listener: l.name,
          address: l.public_address,
          port: l.public_port ?? l.port,
          source: 'config',
        });
        continue;
      }
      const pa = this.publicAddress;
      const port = pa?.ports.get(shortListenerName(l.name));
      if (pa && port) out.push({ listener: l.name, address: pa.address, port, source: pa.source });
    }
    return out;
  }

  /** Bound port of the health server (tests use port 0). */
  healthPort(): number | undefined {
    return this.adminServers.find((s) => s.paths().includes('/ready'))?.port();
  }

  metricsPort(): number | undefined {
    const path = this.metricsEndpoint()?.path;
    return path ? this.adminServers.find((s) => s.paths().includes(path))?.port() : undefined;
  }

  async start(): Promise<void> {
    await this.relay.start();
    this.log.info(`UDP batch I/O ${udpBatchStatus()}`);
    await this.startAdmin();
    await this.startKubernetes();
    this.startConfigWatch();
    if (this.opts.handleSignals ?? true) this.installSignals();
  }

  /**
   * Applies a new config in place (what hot reload does) and says what changed in the relay.
   * Throws if the relay rejects it; when only some listeners could not bind, the rest of the config
   * is applied here too before the error is rethrown.
   */
  async reconfigure(next: StunnerConfig): Promise<RelayChanges> {
    const prev = this.config;
    let failure: ReconfigureError | undefined;
    let changes: RelayChanges;
    try {
      changes = await this.relay.reconfigure(next);
    } catch (err) {
      if (!(err instanceof ReconfigureError)) throw err;
      failure = err;
      changes = err.changes;
    }
    this.config = next;
    this.discovery?.update(next.clusters);
    this.discovery?.reassert();
    this.publicWatcher?.update(next.listeners);
    if (
      prev.admin.healthcheck_endpoint !== next.admin.healthcheck_endpoint ||
      prev.admin.metrics_endpoint !== next.admin.metrics_endpoint
    ) {
      await this.stopAdmin();
      await this.startAdmin();
    }
    if (failure !== undefined) throw failure;
    return changes;
  }

  /**
   * Drains: readiness 503, new Allocates refused, existing allocations relay on until they end
   * or the grace period runs out; then stops. Resolves with the exit code.
   */
  drain(): Promise<number> {
    if (this.draining || this.stopping) return this.done;
    this.draining = true;
    const grace = this.opts.gracePeriodMs ?? gracePeriodFromEnv();
    this.relay.drain();
    void this.configWatcher?.stop();
    this.log.info(
      `draining: readiness 503, refusing new allocations; ${this.relay.allocationCount()} active, grace period ${Math.round(grace / 1000)} s`,
    );
    const deadline = Date.now() + grace;
    const tick = () => {
      if (this.stopping) return;
      const n = this.relay.allocationCount();
      if (n === 0) {
        this.log.info('drained: no allocations left');
        void this.shutdown(0);
      } else if (Date.now() >= deadline) {
        this.log.warn(`grace period over with ${n} allocations left; stopping`);
        void this.shutdown(0);
      } else {
        this.drainTimer = setTimeout(tick, Math.min(250, Math.max(1, deadline - Date.now())));
      }
    };
    tick();
    return this.done;
  }

  /** Stops everything now. */
  stop(code = 0): Promise<number> {
    void this.shutdown(code);
    return this.done;
  }

  private shutdown(code: number): Promise<void> {
    if (this.stopping) return this.stopping;
    clearTimeout(this.drainTimer);
    this.stopping = (async () => {
      for (const [sig, h] of this.signalHandlers) process.off(sig, h);
      await this.configWatcher?.stop();
      this.discovery?.stop();
      this.publicWatcher?.stop();
      try {
        await this.relay.stop();
      } catch (err) {
        this.log.error(`stopping the relay failed: ${(err as Error).message}`);
        code = code || 1;
      }
      await this.stopAdmin();
      this.log.info(`stopped, exit code ${code}`);
      this.resolveDone(code);
    })();
    return this.stopping;
  }

  private installSignals(): void {
    const onSignal = (sig: NodeJS.Signals) => () => {
      if (sig === 'SIGINT' || this.draining) {
        this.log.info(`${sig}${this.draining ? ' while draining' : ''}: stopping now`);
        void this.shutdown(0);
      } else {
        this.log.info(`${sig}: draining`);
        void this.drain();
      }
    };
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const h = onSignal(sig);
      this.signalHandlers.push([sig, h]);
      process.on(sig, h);
    }
  }

  private metricsEndpoint(): AdminEndpoint | undefined {
    return metricsEndpointOf(this.config.admin);
  }

  private async startAdmin(): Promise<void> {
    const health = healthcheckEndpointOf(this.config.admin);
    const metrics = this.metricsEndpoint();
    const servers = new Map<string, AdminServer>();
    const serverFor = (e: AdminEndpoint) => {
      let s = servers.get(bindKey(e));
      if (!s) {
        s = new AdminServer(e);
        servers.set(bindKey(e), s);
      }
      return s;
    };
    if (health)
      addHealthRoutes(serverFor(health), { state: () => this.state(), status: () => this.status() });
    if (metrics) {
      serverFor(metrics).route(metrics.path, async (_req, res) => {
        const body = await this.metrics.render();
        res.writeHead(200, { 'content-type': this.metrics.contentType });
        res.end(body);
      });
    }
    for (const s of servers.values()) {
      try {
        await s.start();
        this.adminServers.push(s);
        this.log.info(`serving ${s.paths().join(' ')} on ${s.endpoint.host ?? '*'}:${s.port()}`);
      } catch (err) {
        // The relay keeps serving; the pod's probes will report the problem.
        this.log.error(
          `cannot serve ${s.paths().join(' ')} on ${s.endpoint.host ?? '*'}:${s.endpoint.port}: ${(err as Error).message}`,
        );
      }
    }
  }

  private async stopAdmin(): Promise<void> {
    const servers = this.adminServers;
    this.adminServers = [];
    await Promise.all(servers.map((s) => s.stop()));
  }

  private async startKubernetes(): Promise<void> {
    const k = this.opts.kubernetes ?? (inCluster() ? {} : false);
    if (k === false) return;
    const log = this.logger.scope('watch');
    // Only processes that watch load the watchers.
    const [{ makeKubeApi }, { EndpointDiscovery }, { PublicAddressWatcher }] = await Promise.all([
      import('../cluster-watch/kube-config.js'),
      import('../cluster-watch/endpoint-discovery.js'),
      import('../cluster-watch/public-address.js'),
    ]);
    let api: ReturnType<typeof makeKubeApi>;
    try {
      api = makeKubeApi(k);
    } catch (err) {
      log.error(
        `no access to the Kubernetes API (${(err as Error).message}); endpoint and public address discovery off`,
      );
      return;
    }
    const backoff = {
      ...(k.initialBackoffMs !== undefined && { initialBackoffMs: k.initialBackoffMs }),
      ...(k.maxBackoffMs !== undefined && { maxBackoffMs: k.maxBackoffMs }),
    };
    if (k.endpoints ?? true) {
      this.discovery = new EndpointDiscovery({ api, sink: this.relay, log, ...backoff });
      this.discovery.update(this.config.clusters);
    }
    if (k.publicAddress ?? true) {
      const [nsOfName, gwOfName] = this.config.admin.name.includes('/')
        ? this.config.admin.name.split('/')
        : [];
      const namespace = k.namespace ?? process.env[RuntimeEnv.NAMESPACE] ?? nsOfName;
      const service = k.service ?? process.env[RuntimeEnv.NAME] ?? gwOfName;
      const nodeName = k.nodeName ?? process.env[RuntimeEnv.NODENAME];
      if (!namespace || !service) {
        log.info(
          `gateway Service unknown (set ${RuntimeEnv.NAMESPACE}/${RuntimeEnv.NAME}); public address discovery off`,
        );
        return;
      }
      this.gateway = `${namespace}/${service}`;
      this.publicWatcher = new PublicAddressWatcher({
        api,
        namespace,
        service,
        ...(nodeName && { nodeName }),
        log,
        onChange: (a) => {
          this.publicAddress = a;
          try {
            this.opts.onPublicAddress?.(this.gateway ?? '', a?.address, a?.ports);
          } catch (err) {
            log.warn(`public address hook failed: ${(err as Error).message}`);
          }
        },
        ...backoff,
      });
      this.publicWatcher.start(this.config.listeners);
    }
  }

  private startConfigWatch(): void {
    const file = this.opts.configFile;
    if (!file || !(this.opts.watchConfig ?? true)) return;
    this.configWatcher = new ConfigWatcher({
      file,
      log: this.logger.scope('reload'),
      apply: async (c) => {
        await this.reconfigure(c);
      },
      initialText: this.initialText,
      ...(this.opts.configPollMs !== undefined && { pollMs: this.opts.configPollMs }),
    });
    this.configWatcher.start();
  }

  /** Text the initial config was read from, so that the watcher does not re-apply it. */
  initialText: string | undefined;
}

/** The runtime's plain counters, as the metrics read them at scrape time. */
export function metricsSourceOf(s: Relay): MetricsSource {
  return {
    allocationCount: () => s.allocationCount(),
    listeners: () => s.stats.listeners,
    clusters: () => s.stats.clusters,
  };
}

function gracePeriodFromEnv(): number {
  const v = Number(process.env.STUNNERD_GRACE_PERIOD);
  return Number.isFinite(v) &&
    v >= 0 &&
    process.env.STUNNERD_GRACE_PERIOD !== '' &&
    process.env.STUNNERD_GRACE_PERIOD !== undefined
    ? v * 1000
    : DEFAULT_GRACE_PERIOD_MS;
}

/**
 * Starts the daemon. Throws ConfigError for a bad config file (the CLI prints its problems and
 * exits 1) and any error of binding the listeners.
 */
export async function runStunnerd(opts: StunnerdProcessOptions): Promise<StunnerdProcess> {
  let config = opts.config;
  let text: string | undefined;
  // The file wins over a config given with it: its text is also the watcher's starting point.
  if (opts.configFile !== undefined) {
    text = await readFile(opts.configFile, 'utf8');
    const r = validateConfigText(text);
    if (!r.ok) throw new ConfigError(r.problems, opts.configFile);
    config = r.config;
  }
  if (!config) throw new Error('runStunnerd needs a config or a config file');
  const logger = opts.logger ?? createLogger(opts.logLevelOverride ?? config.admin.loglevel);
  const relay = new Relay({
    config,
    logger,
    ...(opts.logLevelOverride !== undefined && { logLevelOverride: opts.logLevelOverride }),
  });
  const d = new StunnerdProcess(relay, config, logger, opts);
  d.initialText = text;
  try {
    await d.start();
  } catch (err) {
    await d.stop(1);
    throw err;
  }
  return d;
}

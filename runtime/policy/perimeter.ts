/**
 * The route perimeter: which peers a client on a given listener may reach. This is its resolver
 * half: it turns a config into the route table (route-match.ts decides from it, purely), resolves
 * STRICT_DNS names on a timer, takes dynamic endpoints (EndpointSlice addresses) and finds the
 * gateway's own addresses. A generation counter changes whenever the effective sets change, so
 * that permissions granted earlier are re-checked lazily on their next datagram.
 */
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { healthcheckEndpointOf, metricsEndpointOf } from '../../contract/admin-endpoint.js';
import type { ClusterConfig, StunnerConfig } from '../../contract/config/index.js';
import { parseEndpoint } from '../../contract/config/index.js';
import type { ScopedLogger } from '../log/logger.js';
import { ipFamily, ipv4ToInt, ipv6ToBigInt } from '../stun/ip.js';
import type { PeerPolicy } from '../turn/hooks.js';
import { ClusterStats } from '../turn/stats.js';
import {
  emptyRouteTable,
  type Admission as MatchAdmission,
  type CheckResult as MatchResult,
  mappedV4,
  matchPeer,
  type RoutedCluster,
  type RouteTable,
  type Rule,
  ruleFor,
} from './route-match.js';

export { portAllowed } from '../turn/allocation.js';
export { ClusterStats } from '../turn/stats.js';
export { type DenyReason, isForbiddenV4, isForbiddenV6 } from './route-match.js';

interface DnsName {
  readonly name: string;
  readonly portMin: number;
  readonly portMax: number;
  /** Last good resolution. */
  ips: readonly string[];
  failing: boolean;
}

export class ClusterState implements RoutedCluster {
  readonly stats = new ClusterStats();
  type: 'STATIC' | 'STRICT_DNS' = 'STATIC';
  /** Endpoints as configured. */
  configured: readonly string[] = [];
  staticRules: Rule[] = [];
  dnsNames: DnsName[] = [];
  dnsRules: Rule[] = [];
  dynamicRules: Rule[] = [];
  dynamicIps: readonly string[] | undefined;
  constructor(readonly name: string) {}
}

export type Admission = MatchAdmission<ClusterState>;
export type CheckResult = MatchResult<ClusterState>;

export interface PerimeterOptions {
  readonly logger: ScopedLogger;
  /** DNS resolver for STRICT_DNS names. @default dns.promises.lookup(all) */
  readonly resolve?: (name: string) => Promise<string[]>;
  /** Re-resolution interval. @default 5000 ms */
  readonly dnsIntervalMs?: number;
  /** Addresses to treat as the gateway's own besides listener addresses. @default local interfaces */
  readonly ownAddresses?: readonly string[];
}

const MAX_DNS_ADDRESSES = 64;
const MAX_DYNAMIC_ADDRESSES = 4096;
const DNS_TIMEOUT_MS = 2000;

/** The ports of the health-check and metrics endpoints, when on. */
function adminPorts(config: StunnerConfig): Set<number> {
  const out = new Set<number>();
  for (const e of [healthcheckEndpointOf(config.admin), metricsEndpointOf(config.admin)])
    if (e !== undefined) out.add(e.port);
  return out;
}

async function defaultResolve(name: string): Promise<string[]> {
  const r = await lookup(name, { all: true, verbatim: true });
  return r.map((a) => a.address);
}

export class Perimeter implements PeerPolicy {
  /** Changes whenever the admitted sets change; permissions remember the generation they saw. */
  generation = 1;
  private readonly clusters = new Map<string, ClusterState>();
  /** What the matcher decides from; replaced as a whole on load(), its rule sets updated in place. */
  private table: RouteTable<ClusterState> = emptyRouteTable();
  private timer: NodeJS.Timeout | undefined;
  private resolving = false;
  private readonly log: ScopedLogger;
  private readonly resolve: (name: string) => Promise<string[]>;
  private readonly dnsIntervalMs: number;
  private readonly extraOwn: readonly string[] | undefined;

  constructor(opts: PerimeterOptions) {
    this.log = opts.logger;
    this.resolve = opts.resolve ?? defaultResolve;
    this.dnsIntervalMs = opts.dnsIntervalMs ?? 5000;
    this.extraOwn = opts.ownAddresses;
  }

  /** Rebuilds routes and clusters from a config. Cluster counters and DNS/dynamic sets survive. */
  load(config: StunnerConfig): void {
    const seen = new Set<string>();
    for (const c of config.clusters) {
      seen.add(c.name);
      let st = this.clusters.get(c.name);
      if (!st) {
        st = new ClusterState(c.name);
        this.clusters.set(c.name, st);
      }
      this.loadCluster(st, c);
    }
    for (const name of [...this.clusters.keys()]) if (!seen.has(name)) this.clusters.delete(name);
    const routes = new Map<string, ClusterState[]>();
    for (const l of config.listeners) {
      const list: ClusterState[] = [];
      for (const r of l.routes) {
        const st = this.clusters.get(r);
        if (st) list.push(st);
      }
      routes.set(l.name, list);
    }
    const ownV4 = new Set<number>();
    const ownV6 = new Set<bigint>();
    let wildcardListener = false;
    const own: string[] = [...(this.extraOwn ?? [])];
    for (const l of config.listeners) {
      if (l.address === '0.0.0.0' || l.address === '::') wildcardListener = true;
      else own.push(l.address);
    }
    if (wildcardListener && this.extraOwn === undefined) {
      for (const list of Object.values(networkInterfaces())) {
        for (const a of list ?? []) own.push(a.address.replace(/%.*$/, ''));
      }
    }
    for (const a of own) {
      const f = ipFamily(a);
      if (f === 4) ownV4.add(ipv4ToInt(a));
      else if (f === 6) {
        const v6 = ipv6ToBigInt(a);
        const v4 = mappedV4(v6);
        if (v4 >= 0) ownV4.add(v4);
        else ownV6.add(v6);
      }
    }
    this.table = {
      routes,
      ownV4,
      ownV6,
      ownPorts: new Set(config.listeners.map((l) => l.port)),
      adminPorts: adminPorts(config),
      wildcardListener,
    };
    this.generation++;
  }

  private loadCluster(st: ClusterState, c: ClusterConfig): void {
    st.type = c.type;
    st.configured = c.endpoints;
    st.staticRules = [];
    const names: DnsName[] = [];
    for (const raw of c.endpoints) {
      const ep = parseEndpoint(raw, c.type);
      if (typeof ep === 'string') {
        this.log.warn(`cluster ${c.name}: ignoring endpoint ${JSON.stringify(raw)}: ${ep}`);
        continue;
      }
      if (ep.family === 0) {
        const old = st.dnsNames.find(
          (d) => d.name === ep.host && d.portMin === ep.portMin && d.portMax === ep.portMax,
        );
        names.push({
          name: ep.host,
          portMin: ep.portMin,
          portMax: ep.portMax,
          ips: old?.ips ?? [],
          failing: false,
        });
      } else {
        const rule = ruleFor(ep.host, ep.prefix, ep.portMin, ep.portMax);
        if (rule) st.staticRules.push(rule);
      }
    }
    st.dnsNames = names;
    this.rebuildDnsRules(st);
  }

  private rebuildDnsRules(st: ClusterState): void {
    const rules: Rule[] = [];
    for (const d of st.dnsNames) {
      for (const ip of d.ips) {
        const r = ruleFor(ip, undefined, d.portMin, d.portMax);
        if (r) rules.push(r);
      }
    }
    st.dnsRules = rules;
  }

  /** Dynamic endpoints (e.g. EndpointSlice addresses) of a cluster; undefined removes them. */
  setDynamicEndpoints(cluster: string, ips: readonly string[] | undefined): void {
    let st = this.clusters.get(cluster);
    if (!st) {
      // Keep them for when the cluster appears in a later config.
      st = new ClusterState(cluster);
      this.clusters.set(cluster, st);
    }
    const list = ips === undefined ? undefined : ips.slice(0, MAX_DYNAMIC_ADDRESSES);
    st.dynamicIps = list;
    const rules: Rule[] = [];
    for (const ip of list ?? []) {
      // `IP`, `IP/len`, optionally `:<lo-hi>`: the port range of the DNS endpoint it was found for.
      const ep = parseEndpoint(ip, 'STATIC');
      const r = typeof ep === 'string' ? undefined : ruleFor(ep.host, ep.prefix, ep.portMin, ep.portMax);
      if (r) rules.push(r);
      else this.log.warn(`cluster ${cluster}: ignoring dynamic endpoint ${JSON.stringify(ip)}`);
    }
    st.dynamicRules = rules;
    this.generation++;
  }

  cluster(name: string): ClusterState | undefined {
    return this.clusters.get(name);
  }

  clusterNames(): string[] {
    return [...this.clusters.keys()];
  }

  /** Clusters with their effective endpoints, for /status. */
  describe(): {
    name: string;
    type: string;
    endpoints: readonly string[];
    resolved: string[];
    dynamic: string[];
  }[] {
    return [...this.clusters.values()].map((st) => ({
      name: st.name,
      type: st.type,
      endpoints: st.configured,
      resolved: st.dnsNames.flatMap((d) => d.ips),
      dynamic: [...(st.dynamicIps ?? [])],
    }));
  }

  /** Is this peer (an IP, as text) admitted for clients of this listener? (route-match.ts decides) */
  check(listener: string, ip: string): CheckResult {
    return matchPeer(this.table, listener, ip);
  }

  /** The table the matcher decides from (tests, /status). */
  routeTable(): RouteTable<ClusterState> {
    return this.table;
  }

  /** Is `port` a listener port of the gateway (closed on its own addresses by default)? */
  isOwnPort(port: number): boolean {
    return this.table.ownPorts.has(port);
  }

  /** Starts periodic re-resolution of STRICT_DNS names; resolves once before returning. */
  async start(): Promise<void> {
    await this.resolveAll();
    if (!this.timer) {
      this.timer = setInterval(() => void this.resolveAll(), this.dnsIntervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round of DNS resolution, bounded in time and size. Failures keep the last good set. */
  async resolveAll(): Promise<void> {
    if (this.resolving) return;
    this.resolving = true;
    try {
      const jobs: Promise<void>[] = [];
      for (const st of this.clusters.values()) {
        for (const d of st.dnsNames) jobs.push(this.resolveOne(st, d));
      }
      await Promise.all(jobs);
    } finally {
      this.resolving = false;
    }
  }

  private async resolveOne(st: ClusterState, d: DnsName): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const ips = await Promise.race([
        this.resolve(d.name),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${DNS_TIMEOUT_MS} ms`)), DNS_TIMEOUT_MS);
        }),
      ]);
      const next = [...new Set(ips.filter((ip) => ipFamily(ip) !== 0))].slice(0, MAX_DNS_ADDRESSES).sort();
      if (d.failing) this.log.info(`cluster ${st.name}: resolving ${d.name} works again`);
      d.failing = false;
      if (next.join(',') !== d.ips.join(',')) {
        d.ips = next;
        this.rebuildDnsRules(st);
        this.generation++;
        this.log.debug(`cluster ${st.name}: ${d.name} resolves to [${next.join(', ')}]`);
      }
    } catch (e) {
      const msg = `cluster ${st.name}: cannot resolve ${d.name}: ${(e as Error).message}; keeping [${d.ips.join(', ')}]`;
      if (!d.failing) this.log.warn(msg);
      else this.log.debug(msg);
      d.failing = true;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}

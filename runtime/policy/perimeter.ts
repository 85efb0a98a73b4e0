/**
 * The route perimeter: which peers a client on a given listener may reach. A peer is admitted only
 * if its IP lies inside a cluster that one of the listener's routes names. Matching is numeric
 * (uint32 prefixes for IPv4, bigints for IPv6) and happens at CreatePermission/ChannelBind time;
 * the result (allowed port ranges) is stored on the permission and checked per datagram.
 * A generation counter changes whenever the effective sets change, so that permissions granted
 * earlier are re-checked lazily on their next datagram.
 */
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import type { ClusterConfig, StunnerConfig } from '../../contract/config/index.js';
import { ANY_PORT_MAX, ANY_PORT_MIN, parseEndpoint } from '../../contract/config/index.js';
import type { ScopedLogger } from '../log/logger.js';
import { ipFamily, ipv4ToInt, ipv6ToBigInt, v4Mask, v6Mask } from '../stun/ip.js';
import type { PeerPolicy, Admission as TurnAdmission } from '../turn/hooks.js';
import { ClusterStats } from '../turn/stats.js';

export { portAllowed } from '../turn/allocation.js';
export { ClusterStats } from '../turn/stats.js';

interface Rule {
  readonly family: 4 | 6;
  readonly v4base: number;
  readonly v4mask: number;
  readonly v6base: bigint;
  readonly v6mask: bigint;
  readonly portMin: number;
  readonly portMax: number;
}

interface DnsName {
  readonly name: string;
  readonly portMin: number;
  readonly portMax: number;
  /** Last good resolution. */
  ips: readonly string[];
  failing: boolean;
}

export class ClusterState {
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

/** Outcome of a permission check: turn/'s Admission, with the cluster and whether the peer is us. */
export interface Admission extends TurnAdmission {
  readonly cluster: ClusterState;
  /** The peer is one of the gateway's own addresses: its listener ports stay closed. */
  readonly ownIp: boolean;
}

export type DenyReason = 'no route to endpoint' | 'forbidden address' | 'invalid address';
export type CheckResult = Admission | DenyReason;

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

async function defaultResolve(name: string): Promise<string[]> {
  const r = await lookup(name, { all: true, verbatim: true });
  return r.map((a) => a.address);
}

function ruleFor(ip: string, prefix: number | undefined, portMin: number, portMax: number): Rule | undefined {
  const fam = ipFamily(ip);
  if (fam === 4) {
    const mask = v4Mask(prefix ?? 32);
    return {
      family: 4,
      v4base: (ipv4ToInt(ip) & mask) >>> 0,
      v4mask: mask,
      v6base: 0n,
      v6mask: 0n,
      portMin,
      portMax,
    };
  }
  if (fam === 6) {
    const mask = v6Mask(prefix ?? 128);
    return {
      family: 6,
      v4base: 0,
      v4mask: 0,
      v6base: ipv6ToBigInt(ip) & mask,
      v6mask: mask,
      portMin,
      portMax,
    };
  }
  return undefined;
}

export class Perimeter implements PeerPolicy {
  /** Changes whenever the admitted sets change; permissions remember the generation they saw. */
  generation = 1;
  private readonly clusters = new Map<string, ClusterState>();
  private routes = new Map<string, ClusterState[]>();
  private ownV4 = new Set<number>();
  private ownV6 = new Set<bigint>();
  private ownPorts = new Set<number>();
  private wildcardListener = false;
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
    this.routes = routes;
    this.ownPorts = new Set(config.listeners.map((l) => l.port));
    this.ownV4 = new Set();
    this.ownV6 = new Set();
    this.wildcardListener = false;
    const own: string[] = [...(this.extraOwn ?? [])];
    for (const l of config.listeners) {
      if (l.address === '0.0.0.0' || l.address === '::') this.wildcardListener = true;
      else own.push(l.address);
    }
    if (this.wildcardListener && this.extraOwn === undefined) {
      for (const list of Object.values(networkInterfaces())) {
        for (const a of list ?? []) own.push(a.address.replace(/%.*$/, ''));
      }
    }
    for (const a of own) this.addOwn(a);
    this.generation++;
  }

  private addOwn(a: string): void {
    const f = ipFamily(a);
    if (f === 4) this.ownV4.add(ipv4ToInt(a));
    else if (f === 6) this.ownV6.add(ipv6ToBigInt(a));
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

  /** Is this peer (an IP, as text) admitted for clients of this listener? */
  check(listener: string, ip: string): CheckResult {
    const fam = ipFamily(ip);
    if (fam === 0) return 'invalid address';
    let v4 = 0;
    let v6 = 0n;
    if (fam === 4) {
      v4 = ipv4ToInt(ip);
      if (isForbiddenV4(v4)) return 'forbidden address';
    } else {
      v6 = ipv6ToBigInt(ip);
      if (isForbiddenV6(v6)) return 'forbidden address';
    }
    const clusters = this.routes.get(listener);
    if (!clusters) return 'no route to endpoint';
    let first: ClusterState | undefined;
    let ranges: number[] | null = [];
    for (const st of clusters) {
      const matched = matchRules(st.staticRules, fam, v4, v6, ranges);
      const m2 = matchRules(st.dnsRules, fam, v4, v6, ranges);
      const m3 = matchRules(st.dynamicRules, fam, v4, v6, ranges);
      if (matched || m2 || m3) {
        first ??= st;
      }
    }
    if (!first) return 'no route to endpoint';
    const ownIp = fam === 4 ? this.isOwnV4(v4) : this.ownV6.has(v6) || v6 === 1n;
    let blockedPorts: number[] | null = null;
    if (ownIp) {
      // Listener ports on our own address open only for a route that names them in a port range.
      blockedPorts = [];
      for (const p of this.ownPorts) {
        let explicit = false;
        for (let i = 0; i < ranges.length; i += 2) {
          if (p >= ranges[i]! && p <= ranges[i + 1]! && !(ranges[i] === 0 && ranges[i + 1] === 65535)) {
            explicit = true;
            break;
          }
        }
        if (!explicit) blockedPorts.push(p);
      }
      if (blockedPorts.length === 0) blockedPorts = null;
    }
    for (let i = 0; i < ranges.length; i += 2) {
      if (ranges[i] === ANY_PORT_MIN && ranges[i + 1] === ANY_PORT_MAX) {
        ranges = null;
        break;
      }
    }
    return { cluster: first, ranges, ownIp, blockedPorts };
  }

  private isOwnV4(v4: number): boolean {
    if (this.ownV4.has(v4)) return true;
    return this.wildcardListener && v4 >>> 24 === 127;
  }

  /** Is `port` a listener port of the gateway (closed on its own addresses by default)? */
  isOwnPort(port: number): boolean {
    return this.ownPorts.has(port);
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

/** Appends the port ranges of every matching rule; returns whether any matched. */
function matchRules(rules: readonly Rule[], fam: 4 | 6, v4: number, v6: bigint, out: number[]): boolean {
  let any = false;
  for (const r of rules) {
    if (r.family !== fam) continue;
    const hit = fam === 4 ? (v4 & r.v4mask) >>> 0 === r.v4base : (v6 & r.v6mask) === r.v6base;
    if (hit) {
      any = true;
      out.push(r.portMin, r.portMax);
    }
  }
  return any;
}

/** 0.0.0.0/8, multicast 224.0.0.0/4 and limited broadcast: never relay targets. */
export function isForbiddenV4(ip: number): boolean {
  return ip >>> 24 === 0 || ip >>> 28 === 14 || ip === 0xffffffff;
}

/** Unspecified :: and multicast ff00::/8 (and their IPv4-mapped forms). */
export function isForbiddenV6(ip: bigint): boolean {
  if (ip === 0n) return true;
  if (ip >> 120n === 0xffn) return true;
  if (ip >> 32n === 0xffffn) return isForbiddenV4(Number(ip & 0xffffffffn));
  return false;
}

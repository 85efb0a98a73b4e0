/**
 * MediaRoute: which peers the gateways may relay to. It renders, at synth time, what STUNner's
 * operator renders from a UDPRoute: one dataplane cluster per route, named `ns/route`, attached
 * to the routes list of the gateways' listeners.
 */
import { isIP } from 'node:net';
import { ApiObject } from 'cdk8s';
import type * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { ClusterConfig } from '../contract/config/index.js';
import { chartNamespace, dns1123Problem } from './naming.js';
import { StunnerGateway } from './stunner-gateway.js';

/** A gateway this route attaches to, optionally narrowed to one listener. */
export interface RouteParent {
  /** The gateway: the construct, or its name (looked up among the StunnerGateways of the app). */
  readonly gateway: StunnerGateway | string;
  /**
   * Namespace of a gateway given by name.
   * @default the route's namespace
   */
  readonly namespace?: string;
  /**
   * Attach only to this listener of the gateway.
   * @default every listener of the gateway
   */
  readonly listener?: string;
}

/** A Service in the cluster, by name. */
export interface ServiceReference {
  readonly name: string;
  /**
   * @default the route's namespace
   */
  readonly namespace?: string;
}

/** Peer port restriction shared by every backend kind. */
export interface BackendPorts {
  /**
   * The only peer port allowed, or the low end of a range with `endPort`.
   * @default every port
   */
  readonly port?: number;
  /**
   * High end (inclusive) of the allowed peer port range; needs `port`.
   * @default only `port`
   */
  readonly endPort?: number;
}

/** A Service backend: its pods (and ClusterIP) become relay peers. */
export interface ServiceBackend extends BackendPorts {
  readonly service: kplus.Service | ServiceReference;
}

/** Fixed address ranges (STUNner's StaticService). */
export interface StaticBackend extends BackendPorts {
  /** IP addresses or CIDR prefixes, IPv4 or IPv6. */
  readonly cidrs: readonly string[];
}

export type RouteBackend = ServiceBackend | StaticBackend;

export interface MediaRouteProps {
  /**
   * Route name; the dataplane cluster is named `<namespace>/<name>`.
   * @default the construct id
   */
  readonly name?: string;
  /**
   * @default the chart's namespace, or "default"
   */
  readonly namespace?: string;
  /**
   * Gateways (and listeners) to attach to; more with attachTo().
   * @default none: a route must attach to at least one gateway
   */
  readonly parents?: readonly (StunnerGateway | RouteParent)[];
  /**
   * Allowed peers; more with addBackend().
   * @default none: a route needs backends unless it is headless
   */
  readonly backends?: readonly RouteBackend[];
  /**
   * Loop back to the gateways themselves, so that clients relay to each other (a direct
   * one-to-one call): the peers are the gateways' own pods.
   * @default false
   */
  readonly headless?: boolean;
}

/** What a route contributes to one gateway. */
export interface RoutePlan {
  readonly clusters: readonly ClusterConfig[];
  /** Short names of the listeners that route to the clusters; undefined means all of them. */
  readonly listeners: readonly string[] | undefined;
  /** NetworkPolicy peers (and ports) the gateway pods exchange relayed media with. */
  readonly peers: readonly { readonly peer: INetworkPolicyPeer; readonly ports: INetworkPolicyPort[] }[];
  /** Namespaces whose EndpointSlices the gateway's watcher must read. */
  readonly watchNamespaces: readonly string[];
}

const ROUTE = Symbol.for('stunner-gitops.MediaRoute');
const NAMESPACE_LABEL = 'kubernetes.io/metadata.name';

export class MediaRoute extends Construct {
  static isMediaRoute(x: unknown): x is MediaRoute {
    return typeof x === 'object' && x !== null && ROUTE in x;
  }

  /** Route name. */
  readonly routeName: string;
  readonly namespace: string;
  readonly headless: boolean;
  readonly #parents: (StunnerGateway | RouteParent)[] = [];
  readonly #backends: RouteBackend[] = [];

  constructor(scope: Construct, id: string, props: MediaRouteProps = {}) {
    super(scope, id);
    Object.defineProperty(this, ROUTE, { value: true });
    this.routeName = props.name ?? id;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.headless = props.headless ?? false;
    for (const p of props.parents ?? []) this.#parents.push(p);
    for (const b of props.backends ?? []) this.#backends.push(b);
    this.node.addValidation({ validate: () => this.#problems() });
  }

  /** The dataplane cluster name, as STUNner's operator names it. */
  get clusterName(): string {
    return `${this.namespace}/${this.routeName}`;
  }

  /** Attaches the route to a gateway, or to one of its listeners. */
  attachTo(gateway: StunnerGateway | string, options: Omit<RouteParent, 'gateway'> = {}): this {
    this.#parents.push({ gateway, ...options });
    return this;
  }

  addBackend(backend: RouteBackend): this {
    this.#backends.push(backend);
    return this;
  }

  /** Allows relaying to a Service's pods (and ClusterIP). */
  addService(service: kplus.Service | ServiceReference, ports: BackendPorts = {}): this {
    return this.addBackend({ service, ...ports });
  }

  /** Allows relaying to fixed addresses, like STUNner's StaticService. */
  addCidrs(cidrs: readonly string[], ports: BackendPorts = {}): this {
    return this.addBackend({ cidrs, ...ports });
  }

  /** The gateways this route attaches to, resolved; unresolvable parents are validation errors. */
  resolveParents(): { gateway: StunnerGateway; listener: string | undefined }[] {
    const out: { gateway: StunnerGateway; listener: string | undefined }[] = [];
    for (const p of this.#parents) {
      const parent = StunnerGateway.isStunnerGateway(p) ? { gateway: p } : p;
      const gw = this.#lookup(parent);
      if (typeof gw !== 'string') out.push({ gateway: gw, listener: parent.listener });
    }
    return out;
  }

  /** What this route renders into `gateway`, or undefined when it does not attach to it. */
  planFor(gateway: StunnerGateway): RoutePlan | undefined {
    const parents = this.resolveParents();
    const mine = parents.filter((p) => p.gateway === gateway);
    if (mine.length === 0) return undefined;
    const listeners = mine.some((p) => p.listener === undefined)
      ? undefined
      : [...new Set(mine.map((p) => p.listener!))];

    const dns: string[] = [];
    const ips: string[] = [];
    const peers: RoutePlan['peers'][number][] = [];
    const namespaces = new Set<string>();
    const domain = gateway.clusterDomain;
    if (this.headless) {
      // The gateway's own pod IP now; the other replicas' and gateways' pods via their Services.
      dns.push('$STUNNER_ADDR');
      const seen = new Set<StunnerGateway>();
      for (const { gateway: g } of parents) {
        if (seen.has(g)) continue;
        seen.add(g);
        dns.push(`${g.serviceName}.${g.namespace}.svc.${domain}`);
        namespaces.add(g.namespace);
        peers.push({
          peer: {
            namespaceSelector: nsSelector(g.namespace),
            podSelector: { matchLabels: g.selectorLabels },
          },
          ports: [{ protocol: 'UDP' }],
        });
      }
    }
    for (const b of this.#backends) {
      const ports = peerPorts(b);
      if ('cidrs' in b) {
        for (const c of b.cidrs) {
          ips.push(`${c}${rangeSuffix(b)}`);
          peers.push({ peer: { ipBlock: { cidr: asCidr(c) } }, ports });
        }
        continue;
      }
      const svc = this.#service(b.service);
      dns.push(`${svc.name}.${svc.namespace}.svc.${domain}${rangeSuffix(b)}`);
      namespaces.add(svc.namespace);
      peers.push({
        peer: {
          namespaceSelector: nsSelector(svc.namespace),
          ...(svc.selector ? { podSelector: { matchLabels: svc.selector } } : {}),
        },
        ports,
      });
    }
    const clusters: ClusterConfig[] = [];
    if (dns.length > 0)
      clusters.push({ name: this.clusterName, type: 'STRICT_DNS', protocol: 'UDP', endpoints: dns });
    if (ips.length > 0) {
      const name = dns.length > 0 ? `${this.clusterName}/static` : this.clusterName;
      clusters.push({ name, type: 'STATIC', protocol: 'UDP', endpoints: ips });
    }
    return { clusters, listeners, peers, watchNamespaces: [...namespaces].sort() };
  }

  #service(s: kplus.Service | ServiceReference): {
    name: string;
    namespace: string;
    selector: Record<string, string> | undefined;
  } {
    if ('node' in s) {
      const json = ApiObject.of(s).toJson();
      const selector = json?.spec?.selector;
      return {
        name: s.name,
        namespace: s.metadata.namespace ?? 'default',
        selector: selector && Object.keys(selector).length > 0 ? selector : undefined,
      };
    }
    return { name: s.name, namespace: s.namespace ?? this.namespace, selector: undefined };
  }

  #lookup(p: RouteParent): StunnerGateway | string {
    if (StunnerGateway.isStunnerGateway(p.gateway)) return p.gateway;
    const ns = p.namespace ?? this.namespace;
    const found = StunnerGateway.findAll(this).filter(
      (g) => g.gatewayName === p.gateway && g.namespace === ns,
    );
    if (found.length === 1) return found[0]!;
    if (found.length > 1)
      return `gateway "${ns}/${p.gateway}" is ambiguous: ${found.length} gateways have that name`;
    const known = StunnerGateway.findAll(this).map((g) => `${g.namespace}/${g.gatewayName}`);
    return `no StunnerGateway "${ns}/${p.gateway}" in this app${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`;
  }

  #problems(): string[] {
    const problems: string[] = [];
    const nameProblem = dns1123Problem(this.routeName);
    if (nameProblem) problems.push(`route name ${nameProblem}`);
    const nsProblem = dns1123Problem(this.namespace);
    if (nsProblem) problems.push(`namespace ${nsProblem}`);
    if (this.#parents.length === 0)
      problems.push('the route attaches to no gateway; pass parents or call attachTo()');
    this.#parents.forEach((p, i) => {
      const parent = StunnerGateway.isStunnerGateway(p) ? { gateway: p } : p;
      const gw = this.#lookup(parent);
      if (typeof gw === 'string') {
        problems.push(`parents[${i}]: ${gw}`);
        return;
      }
      if (parent.listener !== undefined && !gw.listenerNames.includes(parent.listener)) {
        const known = gw.listenerNames.length > 0 ? gw.listenerNames.join(', ') : 'none';
        problems.push(
          `parents[${i}]: gateway "${gw.namespace}/${gw.gatewayName}" has no listener "${parent.listener}" (listeners: ${known})`,
        );
      }
    });
    if (!this.headless && this.#backends.length === 0)
      problems.push('the route has no backends; add a Service or CIDRs, or make it headless');
    this.#backends.forEach((b, i) => {
      const at = `backends[${i}]`;
      const portProblem = portsProblem(b);
      if (portProblem) problems.push(`${at}: ${portProblem}`);
      if ('cidrs' in b) {
        if (b.cidrs.length === 0) problems.push(`${at}: no CIDRs given`);
        b.cidrs.forEach((c, j) => {
          const why = cidrProblem(c);
          if (why) problems.push(`${at}.cidrs[${j}]: ${why}`);
        });
      } else if (!('node' in b.service)) {
        const why = dns1123Problem(b.service.name);
        if (why) problems.push(`${at}: Service name ${why}`);
      }
    });
    return problems;
  }
}

function nsSelector(namespace: string) {
  return { matchLabels: { [NAMESPACE_LABEL]: namespace } };
}

function rangeSuffix(b: BackendPorts): string {
  if (b.port === undefined) return '';
  return `:<${b.port}-${b.endPort ?? b.port}>`;
}

function peerPorts(b: BackendPorts): INetworkPolicyPort[] {
  if (b.port === undefined) return [{ protocol: 'UDP' }];
  const p: INetworkPolicyPort = { protocol: 'UDP', port: b.port };
  if (b.endPort !== undefined && b.endPort !== b.port) p.endPort = b.endPort;
  return [p];
}

function portsProblem(b: BackendPorts): string | undefined {
  const valid = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
  if (b.port !== undefined && !valid(b.port)) return `port ${b.port} is not a valid port`;
  if (b.endPort !== undefined) {
    if (b.port === undefined) return 'endPort needs port (the low end of the range)';
    if (!valid(b.endPort)) return `endPort ${b.endPort} is not a valid port`;
    if (b.endPort < b.port) return `endPort ${b.endPort} is below port ${b.port}`;
  }
  return undefined;
}

function cidrProblem(c: string): string | undefined {
  const [addr, len, extra] = c.split('/');
  const family = isIP(addr ?? '');
  if (extra !== undefined || family === 0) return `"${c}" is not an IP address or CIDR prefix`;
  if (len === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(len) || Number(len) > max)
    return `"/${len}" is not a valid IPv${family} prefix length`;
  return undefined;
}

function asCidr(c: string): string {
  if (c.includes('/')) return c;
  return isIP(c) === 6 ? `${c}/128` : `${c}/32`;
}

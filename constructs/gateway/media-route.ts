/**
 * MediaRoute: which peers the gateways may relay to. It renders, at synth time, what STUNner's
 * operator renders from a UDPRoute: one dataplane cluster per route, named `ns/route`, attached
 * to the routes list of the gateways' listeners.
 */

import { ApiObject } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { asCidr, cidrProblem, dns1123Problem, isPort } from '../../contract/checks.js';
import { addressClassOf, NEVER_RELAYED } from '../../contract/config/address-class.js';
import { LABEL_NAMESPACE_NAME } from '../../contract/labels.js';
import { POD_ADDRESS } from '../../contract/pod-env.js';
import type { K8sNetworkPolicyPort } from '../core/k8s-types.js';
import { chartNamespace } from '../core/naming.js';
import { Warnings } from '../core/warnings.js';
import { GatewayRegistry } from './registry.js';
import type { IMediaRoute, IStunnerGateway, RouteCluster, RoutePeer, RoutePlan } from './types.js';

/** A gateway this route attaches to, optionally narrowed to one listener. */
export interface RouteParent {
  /**
   * The gateway: the construct, or one named with StunnerGateway.fromGatewayName() (bound when
   * that gateway is created in this app, before or after the route).
   */
  readonly gateway: IStunnerGateway;
  /**
   * Attach only to this listener of the gateway.
   * @default every listener of the gateway
   */
  readonly listener?: string;
}

/**
 * A Service construct from any cdk8s-plus version (cdk8s-plus-27, -33, ...): its name and
 * namespace; its pod selector is read from its manifest (`ApiObject.of(service)`).
 */
export interface IServiceConstruct extends IConstruct {
  readonly name: string;
  readonly metadata: { readonly namespace?: string };
}

/** A Service in the cluster, by name. */
export interface ServiceReference {
  readonly name: string;
  /**
   * @default the route's namespace
   */
  readonly namespace?: string;
  /**
   * Labels of the Service's pods: narrows the NetworkPolicy peer to them.
   * @default none: the NetworkPolicy admits the Service's whole namespace
   */
  readonly selector?: Readonly<Record<string, string>>;
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
  readonly service: IServiceConstruct | ServiceReference;
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
  readonly parents?: readonly (IStunnerGateway | RouteParent)[];
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

interface BoundParent {
  readonly gateway: IStunnerGateway;
  readonly listener: string | undefined;
  /** The StunnerGateway, once known (a gateway named by fromGatewayName binds when it registers). */
  bound: IStunnerGateway | undefined;
}

const ROUTE = Symbol.for('stunner-gitops.MediaRoute');

export class MediaRoute extends Construct implements IMediaRoute {
  static isMediaRoute(x: unknown): x is MediaRoute {
    return typeof x === 'object' && x !== null && ROUTE in x;
  }

  /** Route name. */
  readonly routeName: string;
  readonly namespace: string;
  readonly #headless: boolean;
  readonly #parents: BoundParent[] = [];
  readonly #backends: RouteBackend[] = [];

  constructor(scope: Construct, id: string, props: MediaRouteProps = {}) {
    super(scope, id);
    Object.defineProperty(this, ROUTE, { value: true });
    this.routeName = props.name ?? id;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.#headless = props.headless ?? false;
    for (const b of props.backends ?? []) this.addBackend(b);
    for (const p of props.parents ?? []) {
      const parent: RouteParent = isParentSpec(p) ? p : { gateway: p };
      this.attachTo(parent.gateway, parent);
    }
    this.node.addValidation({ validate: () => this.#problems() });
  }

  /** The dataplane cluster name, as STUNner's operator names it. */
  get clusterName(): string {
    return `${this.namespace}/${this.routeName}`;
  }

  /**
   * Attaches the route to a gateway, or to one of its listeners. A gateway named with
   * StunnerGateway.fromGatewayName() is bound when a gateway of that name exists in this app;
   * synth fails when none ever does.
   */
  attachTo(gateway: IStunnerGateway, options: Omit<RouteParent, 'gateway'> = {}): void {
    const parent: BoundParent = { gateway, listener: options.listener, bound: undefined };
    this.#parents.push(parent);
    gateway._whenBound((g) => this.#bind(parent, g));
  }

  /** Allows relaying to a backend: a Service, or fixed addresses. */
  addBackend(backend: RouteBackend): void {
    this.#backends.push(backend);
    this.#grantWatch();
    if ('cidrs' in backend) for (const c of backend.cidrs) this.#warnDangerous(c);
  }

  /** A synth warning for a CIDR inside a class the perimeter treats as dangerous (issue 15). */
  #warnDangerous(cidr: string): void {
    const cls = addressClassOf(cidr);
    if (cls === undefined) return;
    Warnings.of(this).add(
      NEVER_RELAYED.has(cls)
        ? `CIDR ${cidr} is ${cls}: the gateway never relays to unspecified, multicast or broadcast addresses, whatever a route says, so this entry admits nothing`
        : `CIDR ${cidr} is ${cls === 'metadata' ? 'a cloud metadata address' : cls}: an allow-any route never reaches it, but this explicit route lets clients relay to it; make sure that is intended`,
    );
  }

  /** Allows relaying to a Service's pods (and ClusterIP). */
  addService(service: IServiceConstruct | ServiceReference, ports: BackendPorts = {}): void {
    this.addBackend({ service, ...ports });
  }

  /** Allows relaying to fixed addresses, like STUNner's StaticService. */
  addCidrs(cidrs: readonly string[], ports: BackendPorts = {}): void {
    this.addBackend({ cidrs, ...ports });
  }

  #bind(parent: BoundParent, gateway: IStunnerGateway): void {
    parent.bound = gateway;
    gateway._addRoute(this);
    this.#grantWatch();
  }

  /** The bound gateways, each once, in attach order. */
  #gateways(): IStunnerGateway[] {
    const out: IStunnerGateway[] = [];
    for (const p of this.#parents) if (p.bound !== undefined && !out.includes(p.bound)) out.push(p.bound);
    return out;
  }

  /** Namespaces whose EndpointSlices the gateways' watchers read for this route. */
  #watchNamespaces(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const add = (ns: string, name: string) => out.set(ns, [...(out.get(ns) ?? []), name]);
    if (this.#headless) for (const g of this.#gateways()) add(g.namespace, g.serviceName);
    for (const b of this.#backends)
      if (!('cidrs' in b)) {
        const svc = this.#service(b.service, false);
        add(svc.namespace, svc.name);
      }
    return out;
  }

  /**
   * Tells every bound gateway which namespaces' EndpointSlices and which Services its watcher must
   * read (idempotent on its side).
   */
  #grantWatch(): void {
    const namespaces = this.#watchNamespaces();
    for (const g of this.#gateways())
      for (const [ns, services] of namespaces) g._watchNamespace(ns, services);
  }

  /**
   * What this route renders into `gateway`, or undefined when it does not attach to it.
   * @internal
   */
  _planFor(gateway: IStunnerGateway): RoutePlan | undefined {
    const mine = this.#parents.filter((p) => p.bound === gateway);
    if (mine.length === 0) return undefined;
    const listeners = mine.some((p) => p.listener === undefined)
      ? undefined
      : [...new Set(mine.map((p) => p.listener!))];

    const dns: string[] = [];
    const ips: string[] = [];
    const peers: RoutePeer[] = [];
    const domain = gateway.clusterDomain;
    if (this.#headless) {
      // The gateway's own pod IP now; the other replicas' and gateways' pods via their Services;
      // each on its relay port ranges only, never the listener, health or metrics ports.
      const suffixes = (g: IStunnerGateway) => g.relayPortRanges.map(([lo, hi]) => `:<${lo}-${hi}>`);
      for (const r of suffixes(gateway)) dns.push(`${POD_ADDRESS}${r}`);
      for (const g of this.#gateways()) {
        for (const r of suffixes(g)) dns.push(`${g.serviceName}.${g.namespace}.svc.${domain}${r}`);
        peers.push({
          peer: {
            namespaceSelector: nsSelector(g.namespace),
            podSelector: { matchLabels: { ...g.selectorLabels } },
          },
          ports: g.relayPortRanges.map(([port, endPort]) => ({ protocol: 'UDP', port, endPort })),
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
      const svc = this.#service(b.service, true);
      dns.push(`${svc.name}.${svc.namespace}.svc.${domain}${rangeSuffix(b)}`);
      peers.push({
        peer: {
          namespaceSelector: nsSelector(svc.namespace),
          ...(svc.selector ? { podSelector: { matchLabels: svc.selector } } : {}),
        },
        ports,
      });
    }
    const clusters: RouteCluster[] = [];
    if (dns.length > 0)
      clusters.push({ name: this.clusterName, type: 'STRICT_DNS', protocol: 'UDP', endpoints: dns });
    if (ips.length > 0) {
      const name = dns.length > 0 ? `${this.clusterName}/static` : this.clusterName;
      clusters.push({ name, type: 'STATIC', protocol: 'UDP', endpoints: ips });
    }
    return { clusters, listeners, peers, ...(this.#headless ? { relayLoop: true } : {}) };
  }

  /** A Service backend's name and namespace, and its selector (read from a construct's manifest when asked). */
  #service(
    s: IServiceConstruct | ServiceReference,
    withSelector: boolean,
  ): { name: string; namespace: string; selector: Record<string, string> | undefined } {
    if ('node' in s) {
      let selector: Record<string, string> | undefined;
      if (withSelector) {
        const found = ApiObject.of(s).toJson()?.spec?.selector;
        selector = found && Object.keys(found).length > 0 ? found : undefined;
      }
      return { name: s.name, namespace: s.metadata.namespace ?? 'default', selector };
    }
    const selector =
      s.selector !== undefined && Object.keys(s.selector).length > 0 ? { ...s.selector } : undefined;
    return { name: s.name, namespace: s.namespace ?? this.namespace, selector };
  }

  /** Why a parent is not usable, or undefined. */
  #parentProblem(p: BoundParent): string | undefined {
    const registry = GatewayRegistry.of(this);
    if (p.bound !== p.gateway) {
      // A gateway named by fromGatewayName: the app must have exactly one of that name.
      const { namespace, gatewayName } = p.gateway;
      const found = registry.find(namespace, gatewayName);
      if (found.length > 1)
        return `gateway "${namespace}/${gatewayName}" is ambiguous: ${found.length} gateways have that name`;
      if (p.bound === undefined) {
        const known = registry.gateways.map((g) => `${g.namespace}/${g.gatewayName}`);
        return `no StunnerGateway "${namespace}/${gatewayName}" in this app${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`;
      }
    }
    const gw = p.bound!;
    if (p.listener !== undefined && !gw.listenerNames.includes(p.listener)) {
      const known = gw.listenerNames.length > 0 ? gw.listenerNames.join(', ') : 'none';
      return `gateway "${gw.namespace}/${gw.gatewayName}" has no listener "${p.listener}" (listeners: ${known})`;
    }
    return undefined;
  }

  /** Pure: reads the route, its gateways and the registry, creates nothing. */
  #problems(): string[] {
    const problems: string[] = [];
    const nameProblem = dns1123Problem(this.routeName);
    if (nameProblem) problems.push(`route name ${nameProblem}`);
    const nsProblem = dns1123Problem(this.namespace);
    if (nsProblem) problems.push(`namespace ${nsProblem}`);
    if (this.#parents.length === 0)
      problems.push('the route attaches to no gateway; pass parents or call attachTo()');
    this.#parents.forEach((p, i) => {
      const why = this.#parentProblem(p);
      if (why) problems.push(`parents[${i}]: ${why}`);
    });
    if (!this.#headless && this.#backends.length === 0)
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

function isParentSpec(p: IStunnerGateway | RouteParent): p is RouteParent {
  return !('gatewayName' in p);
}

function nsSelector(namespace: string) {
  return { matchLabels: { [LABEL_NAMESPACE_NAME]: namespace } };
}

function rangeSuffix(b: BackendPorts): string {
  if (b.port === undefined) return '';
  return `:<${b.port}-${b.endPort ?? b.port}>`;
}

function peerPorts(b: BackendPorts): K8sNetworkPolicyPort[] {
  if (b.port === undefined) return [{ protocol: 'UDP' }];
  if (b.endPort !== undefined && b.endPort !== b.port)
    return [{ protocol: 'UDP', port: b.port, endPort: b.endPort }];
  return [{ protocol: 'UDP', port: b.port }];
}

function portsProblem(b: BackendPorts): string | undefined {
  if (b.port !== undefined && !isPort(b.port)) return `port ${b.port} is not a valid port`;
  if (b.endPort !== undefined) {
    if (b.port === undefined) return 'endPort needs port (the low end of the range)';
    if (!isPort(b.endPort)) return `endPort ${b.endPort} is not a valid port`;
    if (b.endPort < b.port) return `endPort ${b.endPort} is below port ${b.port}`;
  }
  return undefined;
}

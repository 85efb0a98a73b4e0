/**
 * Public address discovery: watch the gateway's own Service and report the address clients
 * dial, in STUNner's order: load-balancer ingress IP (or hostname), else, where the Service
 * exposes NodePorts and reading the Node is allowed, the node's ExternalIP with the NodePort.
 */
import { type ListenerConfig, listenerTransport } from '../../contract/config/index.js';
import type { ScopedLogger } from '../log/logger.js';
import type { KubeApi } from './kube-api.js';
import type { Node, Service } from './kube-types.js';
import { ListWatch } from './list-watch.js';
import { shortListenerName } from './listener-name.js';

/** A gateway's public address: what clients dial (also what the ICE auth service records). */
export interface GatewayAddress {
  /** IP address or DNS name clients dial. */
  readonly address: string;
  /** Public port per listener, keyed by the short listener name (`udp` of `ns/gw/udp`). */
  readonly ports: ReadonlyMap<string, number>;
}

/** A public address as discovered, and where from. */
export interface PublicAddress extends GatewayAddress {
  readonly source: 'LoadBalancer' | 'NodePort';
}

export interface PublicAddressWatcherOptions {
  readonly api: KubeApi;
  readonly namespace: string;
  /** The gateway's Service name (named like the Gateway). */
  readonly service: string;
  /** The node this pod runs on, for the NodePort fallback. @default no NodePort fallback */
  readonly nodeName?: string;
  /**
   * NodePort fallback without a node of our own (the ICE auth service, which runs beside the
   * gateways): the first node, by name, with an ExternalIP, as STUNner's operator picks it.
   * Ignored when nodeName is given. @default false
   */
  readonly anyNode?: boolean;
  readonly log: ScopedLogger;
  /** Called with every change, `undefined` when no public address is known. */
  readonly onChange: (addr: PublicAddress | undefined) => void;
  /** First reconnect delay. @default 250 */
  readonly initialBackoffMs?: number;
  /** Longest reconnect delay. @default 30000 */
  readonly maxBackoffMs?: number;
}

export { shortListenerName } from './listener-name.js';

export class PublicAddressWatcher {
  private readonly service: ListWatch<Service>;
  private readonly node: ListWatch<Node> | undefined;
  private listeners: readonly ListenerConfig[] = [];
  private current: PublicAddress | undefined;
  private currentKey = '';

  constructor(private readonly opts: PublicAddressWatcherOptions) {
    const common = {
      api: opts.api,
      log: opts.log,
      onChange: () => this.recompute(),
      ...(opts.initialBackoffMs !== undefined && { initialBackoffMs: opts.initialBackoffMs }),
      ...(opts.maxBackoffMs !== undefined && { maxBackoffMs: opts.maxBackoffMs }),
    };
    this.service = new ListWatch<Service>({
      ...common,
      what: `gateway Service ${opts.namespace}/${opts.service}`,
      path: `/api/v1/namespaces/${opts.namespace}/services`,
      query: { fieldSelector: `metadata.name=${opts.service}` },
    });
    if (opts.nodeName) {
      this.node = new ListWatch<Node>({
        ...common,
        what: `Node ${opts.nodeName}`,
        path: '/api/v1/nodes',
        query: { fieldSelector: `metadata.name=${opts.nodeName}` },
      });
    } else if (opts.anyNode) {
      this.node = new ListWatch<Node>({
        ...common,
        what: 'Nodes',
        path: '/api/v1/nodes',
        query: {},
      });
    }
  }

  start(listeners: readonly ListenerConfig[]): void {
    this.listeners = listeners;
    this.service.start();
    this.node?.start();
  }

  /** Follows a new config's listeners (public ports are matched per listener). */
  update(listeners: readonly ListenerConfig[]): void {
    this.listeners = listeners;
    this.recompute();
  }

  get(): PublicAddress | undefined {
    return this.current;
  }

  stop(): void {
    this.service.stop();
    this.node?.stop();
  }

  private recompute(): void {
    const svc = this.service.items()[0];
    const next = svc ? this.compute(svc) : undefined;
    const key = next ? `${next.source} ${next.address} ${[...next.ports].join(',')}` : '';
    if (key === this.currentKey) return;
    this.currentKey = key;
    this.current = next;
    if (next) {
      this.opts.log.info(
        `public address ${next.address} (${next.source}), ports ${[...next.ports].map(([l, p]) => `${l}=${p}`).join(' ')}`,
      );
    } else {
      this.opts.log.info('no public address known');
    }
    this.opts.onChange(next);
  }

  private compute(svc: Service): PublicAddress | undefined {
    const ingress = svc.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
    const address = ingress?.ip || ingress?.hostname;
    if (address) {
      return { address, ports: this.portsOf(svc, (p) => p.port), source: 'LoadBalancer' };
    }
    const type = svc.spec?.type;
    if ((type === 'NodePort' || type === 'LoadBalancer') && this.node) {
      const ext = firstExternalIp(this.node.items());
      if (ext) {
        const ports = this.portsOf(svc, (p) => p.nodePort);
        if (ports.size > 0) return { address: ext, ports, source: 'NodePort' };
      }
    }
    return undefined;
  }

  /** Maps each listener to its Service port: by port name, else by number and transport. */
  private portsOf(
    svc: Service,
    pick: (p: { port: number; nodePort?: number }) => number | undefined,
  ): Map<string, number> {
    const out = new Map<string, number>();
    const ports = svc.spec?.ports ?? [];
    for (const l of this.listeners) {
      const short = shortListenerName(l.name);
      const proto = listenerTransport(l.protocol).toUpperCase();
      const match =
        ports.find((p) => p.name === short || p.name === l.name) ??
        ports.find((p) => p.port === l.port && (p.protocol ?? 'TCP').toUpperCase() === proto);
      const port = match ? pick(match) : undefined;
      if (port) out.set(short, port);
    }
    return out;
  }
}

/** The ExternalIP of the first node (by name) that has one. */
function firstExternalIp(nodes: readonly Node[]): string | undefined {
  const sorted = [...nodes].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const n of sorted) {
    const ext = n.status?.addresses?.find((a) => a.type === 'ExternalIP' && a.address)?.address;
    if (ext) return ext;
  }
  return undefined;
}

/**
 * Endpoint discovery: for every STRICT_DNS cluster that names in-cluster Services, watch their
 * EndpointSlices and the Service itself, and hand the runtime the allowed peer IPs (ready
 * endpoint addresses plus the ClusterIP) as the cluster's dynamic endpoints.
 *
 * Never widens on failure: until a Service's objects have been listed once nothing is reported
 * for it, and while the API is unreachable the last known set stays (see ListWatch).
 */
import type { ClusterConfig } from '../../contract/config/index.js';
import type { ScopedLogger } from '../log/logger.js';
import type { KubeApi } from './kube-api.js';
import type { EndpointSlice, Service } from './kube-types.js';
import { ListWatch } from './list-watch.js';
import {
  endpointEntry,
  type ServiceBackend,
  type ServiceRef,
  serviceKey,
  servicesOfClusters,
} from './service-name.js';

/** The part of the runtime endpoint discovery drives (relay/relay.ts implements it). */
export interface EndpointSink {
  setDynamicEndpoints(cluster: string, ips: readonly string[] | undefined): void;
}

export interface EndpointDiscoveryOptions {
  readonly api: KubeApi;
  readonly sink: EndpointSink;
  readonly log: ScopedLogger;
  /** First reconnect delay. @default 250 */
  readonly initialBackoffMs?: number;
  /** Longest reconnect delay. @default 30000 */
  readonly maxBackoffMs?: number;
}

class ServiceWatch {
  readonly slices: ListWatch<EndpointSlice>;
  readonly service: ListWatch<Service>;

  constructor(ref: ServiceRef, opts: EndpointDiscoveryOptions, onChange: () => void) {
    const common = {
      api: opts.api,
      log: opts.log,
      onChange,
      ...(opts.initialBackoffMs !== undefined && { initialBackoffMs: opts.initialBackoffMs }),
      ...(opts.maxBackoffMs !== undefined && { maxBackoffMs: opts.maxBackoffMs }),
    };
    this.slices = new ListWatch<EndpointSlice>({
      ...common,
      what: `EndpointSlices of ${serviceKey(ref)}`,
      path: `/apis/discovery.k8s.io/v1/namespaces/${ref.namespace}/endpointslices`,
      query: { labelSelector: `kubernetes.io/service-name=${ref.name}` },
    });
    this.service = new ListWatch<Service>({
      ...common,
      what: `Service ${serviceKey(ref)}`,
      path: `/api/v1/namespaces/${ref.namespace}/services`,
      query: { fieldSelector: `metadata.name=${ref.name}` },
    });
  }

  start(): void {
    this.slices.start();
    this.service.start();
  }

  stop(): void {
    this.slices.stop();
    this.service.stop();
  }

  /** Allowed IPs, or undefined while nothing has been listed yet. */
  ips(): string[] | undefined {
    if (!this.slices.synced && !this.service.synced) return undefined;
    const ips = new Set<string>();
    for (const slice of this.slices.items()) {
      if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue; // nil means ready
        for (const a of ep.addresses ?? []) ips.add(a);
      }
    }
    for (const svc of this.service.items()) {
      const cips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []);
      for (const ip of cips) if (ip !== '' && ip !== 'None') ips.add(ip);
    }
    return [...ips].sort();
  }
}

export class EndpointDiscovery {
  private readonly watches = new Map<string, ServiceWatch>();
  private clusters = new Map<string, ServiceBackend[]>();
  /** Last set reported per cluster, to report only changes. */
  private readonly reported = new Map<string, string[]>();
  private stopped = false;

  constructor(private readonly opts: EndpointDiscoveryOptions) {}

  /** Follows a (new) config: watches the Services its clusters name, drops the rest. */
  update(clusters: readonly ClusterConfig[]): void {
    if (this.stopped) return;
    const next = servicesOfClusters(clusters);
    const wanted = new Map<string, ServiceRef>();
    for (const backends of next.values())
      for (const b of backends) wanted.set(serviceKey(b.service), b.service);
    for (const [key, w] of this.watches) {
      if (!wanted.has(key)) {
        w.stop();
        this.watches.delete(key);
      }
    }
    for (const cluster of this.reported.keys()) {
      if (!next.has(cluster)) {
        this.reported.delete(cluster);
        this.opts.sink.setDynamicEndpoints(cluster, undefined);
      }
    }
    this.clusters = next;
    for (const [key, ref] of wanted) {
      if (this.watches.has(key)) continue;
      const w = new ServiceWatch(ref, this.opts, () => this.recompute(key));
      this.watches.set(key, w);
      this.opts.log.info(`watching EndpointSlices and Service of ${key}`);
      w.start();
    }
    this.recomputeAll();
  }

  /** Hands every known set to the runtime again (after a reconfigure rebuilt its clusters). */
  reassert(): void {
    for (const [cluster, ips] of this.reported) this.opts.sink.setDynamicEndpoints(cluster, ips);
  }

  /** Dynamic endpoints reported per cluster, for /status. */
  snapshot(): Record<string, string[]> {
    return Object.fromEntries(this.reported);
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
  }

  private recompute(serviceKeyChanged: string): void {
    for (const [cluster, backends] of this.clusters) {
      if (backends.some((b) => serviceKey(b.service) === serviceKeyChanged)) this.report(cluster, backends);
    }
  }

  private recomputeAll(): void {
    for (const [cluster, backends] of this.clusters) this.report(cluster, backends);
  }

  private report(cluster: string, backends: readonly ServiceBackend[]): void {
    if (this.stopped) return;
    let any = false;
    const ips = new Set<string>();
    for (const b of backends) {
      const got = this.watches.get(serviceKey(b.service))?.ips();
      if (got === undefined) continue;
      any = true;
      // The endpoint's port range stays with every address found for it.
      for (const ip of got) ips.add(endpointEntry(ip, b.portMin, b.portMax));
    }
    if (!any) return; // nothing known yet: leave the runtime's static/DNS view alone
    const sorted = [...ips].sort();
    const prev = this.reported.get(cluster);
    if (prev && prev.length === sorted.length && prev.every((ip, i) => ip === sorted[i])) return;
    this.reported.set(cluster, sorted);
    this.opts.log.info(`cluster ${cluster}: allowed endpoints now [${sorted.join(', ')}]`);
    this.opts.sink.setDynamicEndpoints(cluster, sorted);
  }
}

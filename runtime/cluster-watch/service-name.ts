/** Recognizes the in-cluster DNS names of Services in cluster endpoints. */
import {
  ANY_PORT_MAX,
  ANY_PORT_MIN,
  type ClusterConfig,
  parseEndpoint,
} from '../../contract/config/index.js';

export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
}

/** `<svc>.<ns>.svc[.<cluster-domain>][.]`, as the constructs render Service backends. */
export function serviceOfDnsName(host: string): ServiceRef | undefined {
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase().split('.');
  if (labels.length < 3 || labels[2] !== 'svc' || !labels[0] || !labels[1]) return undefined;
  return { name: labels[0], namespace: labels[1] };
}

export function serviceKey(s: ServiceRef): string {
  return `${s.namespace}/${s.name}`;
}

/** A Service a cluster names, with the port range its endpoint allows. */
export interface ServiceBackend {
  readonly service: ServiceRef;
  readonly portMin: number;
  readonly portMax: number;
}

/** The Services each STRICT_DNS cluster names, keyed by cluster name. Clusters naming none are absent. */
export function servicesOfClusters(clusters: readonly ClusterConfig[]): Map<string, ServiceBackend[]> {
  const out = new Map<string, ServiceBackend[]>();
  for (const c of clusters) {
    if (c.type !== 'STRICT_DNS') continue;
    const backends = new Map<string, ServiceBackend>();
    for (const raw of c.endpoints) {
      const ep = parseEndpoint(raw, 'STRICT_DNS');
      if (typeof ep === 'string') continue;
      const service = serviceOfDnsName(ep.host);
      if (service) {
        const b = { service, portMin: ep.portMin, portMax: ep.portMax };
        backends.set(`${serviceKey(service)}:${b.portMin}-${b.portMax}`, b);
      }
    }
    if (backends.size > 0) out.set(c.name, [...backends.values()]);
  }
  return out;
}

/** An allowed peer as the runtime takes it: `IP`, with `:<lo-hi>` unless any port is allowed. */
export function endpointEntry(ip: string, portMin: number, portMax: number): string {
  return portMin === ANY_PORT_MIN && portMax === ANY_PORT_MAX ? ip : `${ip}:<${portMin}-${portMax}>`;
}

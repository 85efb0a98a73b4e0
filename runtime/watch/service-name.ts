/** Recognizes the in-cluster DNS names of Services in cluster endpoints. */
import { type ClusterConfig, parseEndpoint } from '../config/index.js';

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

/** The Services each STRICT_DNS cluster names, keyed by cluster name. Clusters naming none are absent. */
export function servicesOfClusters(clusters: readonly ClusterConfig[]): Map<string, ServiceRef[]> {
  const out = new Map<string, ServiceRef[]>();
  for (const c of clusters) {
    if (c.type !== 'STRICT_DNS') continue;
    const refs = new Map<string, ServiceRef>();
    for (const raw of c.endpoints) {
      const ep = parseEndpoint(raw, 'STRICT_DNS');
      if (typeof ep === 'string') continue;
      const ref = serviceOfDnsName(ep.host);
      if (ref) refs.set(serviceKey(ref), ref);
    }
    if (refs.size > 0) out.set(c.name, [...refs.values()]);
  }
  return out;
}

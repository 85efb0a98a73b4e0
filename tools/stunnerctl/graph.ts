/**
 * `stunnerctl graph`: listeners -> routes -> backends of every gateway, as a Mermaid flowchart.
 * Backends are read back from the dataplane clusters the way the constructs render them: a
 * `<svc>.<ns>.svc.<domain>[:<lo-hi>]` endpoint is a Service, an IP or prefix is a CIDR, and a
 * cluster holding `$STUNNER_ADDR` is a headless route whose backends are the gateways' own pods.
 */
import { cidrProblem } from '../../contract/checks.js';
import type { ClusterConfig } from '../../contract/config/index.js';
import { POD_ADDRESS } from '../../contract/pod-env.js';
import type { GatewayView } from '../sources/index.js';

export type Backend =
  | { readonly kind: 'service'; readonly namespace: string; readonly name: string; readonly ports?: string }
  | { readonly kind: 'cidr'; readonly cidr: string; readonly ports?: string }
  | { readonly kind: 'headless'; readonly gateways: readonly string[] }
  | { readonly kind: 'dns'; readonly host: string; readonly ports?: string };

const PORT_RANGE = /^(.*):<([0-9]+)-([0-9]+)>$/;
const SERVICE_DNS = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.[a-z0-9.-]+)?$/;

/** The backends of a dataplane cluster. */
export function backendsOf(cluster: ClusterConfig): Backend[] {
  const out: Backend[] = [];
  const headless = cluster.endpoints.some((e) => e.includes(POD_ADDRESS));
  const gateways: string[] = [];
  for (const raw of cluster.endpoints) {
    if (raw.includes('$')) continue;
    const m = PORT_RANGE.exec(raw);
    const host = m ? m[1]! : raw;
    const ports = m ? (m[2] === m[3] ? m[2]! : `${m[2]}-${m[3]}`) : undefined;
    const svc = SERVICE_DNS.exec(host);
    if (headless && svc) {
      gateways.push(`${svc[2]}/${svc[1]}`);
      continue;
    }
    if (svc) out.push({ kind: 'service', namespace: svc[2]!, name: svc[1]!, ...(ports && { ports }) });
    else if (cidrProblem(host) === undefined) out.push({ kind: 'cidr', cidr: host, ...(ports && { ports }) });
    else out.push({ kind: 'dns', host, ...(ports && { ports }) });
  }
  if (headless) out.unshift({ kind: 'headless', gateways });
  return out;
}

export function describeBackend(b: Backend): string {
  const ports = 'ports' in b && b.ports ? ` ports ${b.ports}` : '';
  switch (b.kind) {
    case 'service':
      return `Service ${b.namespace}/${b.name}${ports}`;
    case 'cidr':
      return `CIDR ${b.cidr}${ports}`;
    case 'dns':
      return `DNS ${b.host}${ports}`;
    case 'headless':
      return `headless: pods of ${b.gateways.length > 0 ? b.gateways.join(', ') : 'this gateway'}`;
  }
}

/** A Mermaid flowchart of every gateway; clusters (dist/ directories, contexts, URLs) are subgraphs. */
export function mermaidGraph(views: readonly GatewayView[]): string {
  const lines = ['flowchart LR'];
  const ids = new Map<string, string>();
  const id = (key: string, prefix: string): string => {
    let v = ids.get(key);
    if (v === undefined) {
      v = `${prefix}${ids.size + 1}`;
      ids.set(key, v);
    }
    return v;
  };
  const edges: string[] = [];
  const byCluster = new Map<string, GatewayView[]>();
  for (const v of views) byCluster.set(v.cluster, [...(byCluster.get(v.cluster) ?? []), v]);
  for (const [cluster, gws] of byCluster) {
    const indent = cluster ? '    ' : '  ';
    if (cluster) lines.push(`  subgraph ${id(`c:${cluster}`, 'c')}["cluster ${esc(cluster)}"]`);
    const declared = new Set<string>();
    const node = (
      key: string,
      prefix: string,
      text: string,
      shape: 'box' | 'round' | 'db' | 'hex',
    ): string => {
      const n = id(`${cluster}|${key}`, prefix);
      if (!declared.has(n)) {
        declared.add(n);
        const label = `"${esc(text)}"`;
        const s =
          shape === 'box'
            ? `[${label}]`
            : shape === 'round'
              ? `([${label}])`
              : shape === 'db'
                ? `[(${label})]`
                : `{{${label}}}`;
        lines.push(`${indent}${n}${s}`);
      }
      return n;
    };
    for (const g of gws) {
      lines.push(
        `${indent}subgraph ${id(`${cluster}|g:${g.namespace}/${g.name}`, 'g')}["gateway ${esc(`${g.namespace}/${g.name}`)}"]`,
      );
      const listenerIds = g.listeners.map((l) => {
        const pub = l.public ? ` @ ${l.public.address}:${l.public.port}` : '';
        return node(
          `l:${g.namespace}/${g.name}/${l.name}`,
          'l',
          `${l.name} ${l.protocol}:${l.port}${pub}`,
          'box',
        );
      });
      lines.push(`${indent}end`);
      g.listeners.forEach((l, i) => {
        for (const r of l.routes) {
          const cl = g.config.clusters.find((c) => c.name === r);
          const rid = node(`r:${r}`, 'r', `route ${r}`, 'round');
          edges.push(`  ${listenerIds[i]} --> ${rid}`);
          if (!cl) {
            const mid = node(`missing:${r}`, 'x', 'no such cluster', 'hex');
            edges.push(`  ${rid} --> ${mid}`);
            continue;
          }
          for (const b of backendsOf(cl)) {
            const bid = node(
              `b:${describeBackend(b)}`,
              'b',
              describeBackend(b),
              b.kind === 'headless' ? 'hex' : 'db',
            );
            edges.push(`  ${rid} --> ${bid}`);
          }
        }
      });
    }
    if (cluster) lines.push('  end');
  }
  lines.push(...[...new Set(edges)]);
  return `${lines.join('\n')}\n`;
}

function esc(s: string): string {
  return s.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

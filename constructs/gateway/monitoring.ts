/**
 * Monitoring for StunnerGateway: a Prometheus-operator PodMonitor for the gateway pods' metrics
 * port, and a Grafana dashboard shipped in a ConfigMap (picked up by the Grafana sidecar).
 * Every dashboard query uses only metrics the runtime exports (runtime/process/metrics.ts; tested).
 */

import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { LABEL_NAMESPACE_NAME } from '../../contract/labels.js';
import type { K8sNetworkPolicyPeer } from '../core/k8s-types.js';

/** The namespace whose pods may scrape the gateways' metrics port by default (a Prometheus's). */
export const METRICS_SCRAPER_NAMESPACE = 'monitoring';

/** The default scraper peer of the gateways' NetworkPolicy: every pod of METRICS_SCRAPER_NAMESPACE. */
export const METRICS_SCRAPER_PEER: K8sNetworkPolicyPeer = {
  namespaceSelector: { matchLabels: { [LABEL_NAMESPACE_NAME]: METRICS_SCRAPER_NAMESPACE } },
};

export interface StunnerPodMonitorProps {
  readonly namespace: string;
  /** Name of the PodMonitor, usually the gateway's. */
  readonly name: string;
  /** Labels that select the gateway pods (StunnerGateway.selectorLabels). */
  readonly selectorLabels: Readonly<Record<string, string>>;
  /** Name of the container port serving metrics. @default 'metrics' (as the gateway pod names it) */
  readonly portName?: string;
  /** Metrics path. @default '/metrics' */
  readonly path?: string;
  /** Scrape interval. @default '15s' */
  readonly interval?: string;
  /**
   * Extra labels on the PodMonitor, e.g. the `release` label a Prometheus selects monitors by.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A PodMonitor (monitoring.coreos.com/v1) scraping the gateway pods' metrics port. */
export class StunnerPodMonitor extends Construct {
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: StunnerPodMonitorProps) {
    super(scope, id);
    const manifest: IPodMonitor = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: {
        name: props.name,
        namespace: props.namespace,
        ...(props.labels && { labels: { ...props.labels } }),
      },
      spec: {
        selector: { matchLabels: { ...props.selectorLabels } },
        namespaceSelector: { matchNames: [props.namespace] },
        podMetricsEndpoints: [
          {
            port: props.portName ?? 'metrics',
            path: props.path ?? '/metrics',
            interval: props.interval ?? '15s',
          },
        ],
      },
    };
    this.apiObject = new ApiObject(this, 'Resource', manifest);
    if (Object.keys(props.selectorLabels).length === 0) {
      this.node.addValidation({
        validate: () => ['StunnerPodMonitor: selectorLabels must not be empty (it would scrape every pod)'],
      });
    }
  }
}

export interface GrafanaDashboardProps {
  readonly namespace: string;
  /** ConfigMap name. @default 'stunner-dashboard' */
  readonly name?: string;
  /**
   * Labels the Grafana dashboard sidecar selects ConfigMaps by.
   * @default { grafana_dashboard: '1' } (the sidecar's default label)
   */
  readonly labels?: Readonly<Record<string, string>>;
  /** Grafana folder (sidecar annotation `grafana_folder`). @default no folder annotation */
  readonly folder?: string;
}

/** File name of the dashboard inside the ConfigMap. */
export const DASHBOARD_FILE = 'stunner-dashboard.json';

/** A ConfigMap carrying the STUNner Grafana dashboard. */
export class GrafanaDashboardConfigMap extends Construct {
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: GrafanaDashboardProps) {
    super(scope, id);
    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: props.name ?? 'stunner-dashboard',
        namespace: props.namespace,
        labels: { ...(props.labels ?? { grafana_dashboard: '1' }) },
        ...(props.folder !== undefined && { annotations: { grafana_folder: props.folder } }),
      },
      data: { [DASHBOARD_FILE]: `${JSON.stringify(stunnerDashboard(), null, 2)}\n` },
    });
  }
}

interface Target {
  readonly expr: string;
  readonly legendFormat: string;
}

const RATE = '$__rate_interval';
const SEL = 'namespace=~"$namespace"';

function panel(
  id: number,
  title: string,
  unit: string,
  targets: readonly Target[],
  gridPos: { x: number; y: number; w: number; h: number },
) {
  return {
    id,
    type: 'timeseries',
    title,
    datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos,
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    targets: targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: { type: 'prometheus', uid: '${datasource}' },
      expr: t.expr,
      legendFormat: t.legendFormat,
    })),
  };
}

/** The STUNner dashboard (Grafana JSON model, schemaVersion 39). Deterministic. */
export function stunnerDashboard() {
  const w = 12;
  const h = 8;
  return {
    title: 'STUNner gateways',
    uid: 'stunner-gateways',
    schemaVersion: 39,
    version: 1,
    editable: true,
    time: { from: 'now-1h', to: 'now' },
    refresh: '30s',
    tags: ['stunner', 'webrtc', 'turn'],
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' },
        {
          name: 'namespace',
          type: 'query',
          label: 'Namespace',
          datasource: { type: 'prometheus', uid: '${datasource}' },
          query: { query: 'label_values(stunner_allocations_active, namespace)', refId: 'ns' },
          definition: 'label_values(stunner_allocations_active, namespace)',
          includeAll: true,
          multi: true,
          refresh: 2,
        },
      ],
    },
    panels: [
      panel(
        1,
        'Active allocations',
        'short',
        [
          { expr: `sum(stunner_allocations_active{${SEL}})`, legendFormat: 'total' },
          { expr: `sum by (pod) (stunner_allocations_active{${SEL}})`, legendFormat: '{{pod}}' },
        ],
        { x: 0, y: 0, w, h },
      ),
      panel(
        2,
        'Listener connections',
        'short',
        [
          { expr: `sum by (name) (stunner_listener_connections{${SEL}})`, legendFormat: '{{name}}' },
          {
            expr: `sum by (name) (rate(stunner_listener_connections_total{${SEL}}[${RATE}]))`,
            legendFormat: 'new/s {{name}}',
          },
          {
            expr: `sum by (name, reason) (rate(stunner_listener_connections_refused_total{${SEL}}[${RATE}]))`,
            legendFormat: 'refused/s {{name}} {{reason}}',
          },
          {
            expr: `sum by (name, reason) (rate(stunner_auth_failures_total{${SEL}}[${RATE}]))`,
            legendFormat: 'auth failures/s {{name}} {{reason}}',
          },
        ],
        { x: w, y: 0, w, h },
      ),
      panel(
        3,
        'Listener packets',
        'pps',
        [
          {
            expr: `sum by (name, direction) (rate(stunner_listener_packets_total{${SEL}}[${RATE}]))`,
            legendFormat: '{{name}} {{direction}}',
          },
        ],
        { x: 0, y: h, w, h },
      ),
      panel(
        4,
        'Listener throughput',
        'bps',
        [
          {
            expr: `8 * sum by (name, direction) (rate(stunner_listener_bytes_total{${SEL}}[${RATE}]))`,
            legendFormat: '{{name}} {{direction}}',
          },
        ],
        { x: w, y: h, w, h },
      ),
      panel(
        5,
        'Cluster (route backend) packets',
        'pps',
        [
          {
            expr: `sum by (name, direction) (rate(stunner_cluster_packets_total{${SEL}}[${RATE}]))`,
            legendFormat: '{{name}} {{direction}}',
          },
        ],
        { x: 0, y: 2 * h, w, h },
      ),
      panel(
        6,
        'Cluster (route backend) throughput',
        'bps',
        [
          {
            expr: `8 * sum by (name, direction) (rate(stunner_cluster_bytes_total{${SEL}}[${RATE}]))`,
            legendFormat: '{{name}} {{direction}}',
          },
        ],
        { x: w, y: 2 * h, w, h },
      ),
      panel(
        7,
        'CPU',
        'percentunit',
        [
          {
            expr: `sum by (pod) (rate(process_cpu_seconds_total{${SEL}}[${RATE}]))`,
            legendFormat: '{{pod}}',
          },
        ],
        { x: 0, y: 3 * h, w: 8, h },
      ),
      panel(
        8,
        'Resident memory',
        'bytes',
        [{ expr: `sum by (pod) (process_resident_memory_bytes{${SEL}})`, legendFormat: '{{pod}}' }],
        { x: 8, y: 3 * h, w: 8, h },
      ),
      panel(
        9,
        'Event loop lag (p99)',
        's',
        [{ expr: `max by (pod) (nodejs_eventloop_lag_p99_seconds{${SEL}})`, legendFormat: '{{pod}}' }],
        { x: 16, y: 3 * h, w: 8, h },
      ),
    ],
  };
}

/** Every PromQL expression in a dashboard: panel targets and templating queries. */
export function dashboardQueries(d: ReturnType<typeof stunnerDashboard>): string[] {
  const out: string[] = [];
  for (const p of d.panels) for (const t of p.targets) out.push(t.expr);
  for (const v of d.templating.list) {
    if ('definition' in v && typeof v.definition === 'string') out.push(v.definition);
  }
  return out;
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

/** Metric names a PromQL expression reads (functions, labels, keywords and variables removed). */
export function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\{?\w+\}?/g, '');
  const names = new Set<string>();
  // label_values(metric, label): the second argument is a label
  const lv = /label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)/g;
  const withoutLabelValues = stripped.replace(lv, (_m, metric: string) => {
    names.add(metric);
    return '';
  });
  for (const m of withoutLabelValues.matchAll(/[a-zA-Z_:][\w:]*(?=\s*(\(?))/g)) {
    if (m[1] === '(') continue; // a function
    if (PROMQL_WORDS.has(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

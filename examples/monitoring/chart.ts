/**
 * Monitoring a gateway: Prometheus scrapes the gateway pods' metrics port through a PodMonitor
 * (prometheus-operator), and Grafana's dashboard sidecar picks up the STUNner dashboard from a
 * ConfigMap. Here Prometheus and Grafana run in the namespace `observability` and Prometheus
 * selects monitors by the label `release: kube-prometheus-stack` (the kube-prometheus-stack
 * chart's convention), so the monitor and the dashboard are the standalone constructs.
 * In your project, import from 'stunner-gitops' instead of the relative path.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  GrafanaDashboardConfigMap,
  MediaRoute,
  StunnerGateway,
  StunnerPodMonitor,
  SyncWave,
  TurnAuth,
} from '../../constructs/index.js';

/** Where Prometheus and Grafana run. */
const OBSERVABILITY = 'observability';

export class MonitoringChart extends Chart {
  readonly gateway: StunnerGateway;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'stunner', ...props });
    this.gateway = new StunnerGateway(this, 'udp-gateway', {
      auth: TurnAuth.fromSecret('stunner-auth'),
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
      // metrics are on by default (`:8080/metrics`); the NetworkPolicy admits only these scrapers
      metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': OBSERVABILITY } } }],
      // With Prometheus and Grafana selecting by the gateway's own labels, `podMonitor: true` and
      // `grafanaDashboard: true` render both next to the gateway instead of the constructs below.
    });
    new MediaRoute(this, 'media', { parents: [this.gateway] }).addService(
      { name: 'media-server', namespace: 'media' },
      { port: 10000, endPort: 20000 },
    );

    // The PodMonitor lives with the gateway (it selects pods in its own namespace) and carries the
    // label this Prometheus selects monitors by.
    const monitor = new StunnerPodMonitor(this, 'pod-monitor', {
      namespace: this.gateway.namespace,
      name: 'udp-gateway',
      selectorLabels: this.gateway.selectorLabels,
      labels: { release: 'kube-prometheus-stack' },
      interval: '30s',
    });
    // The dashboard goes where Grafana's sidecar looks, in a folder of its own.
    const dashboard = new GrafanaDashboardConfigMap(this, 'dashboard', {
      namespace: OBSERVABILITY,
      name: 'stunner-dashboard',
      folder: 'WebRTC',
    });
    // The gateway's own objects carry their Argo CD sync wave; give these theirs the same way.
    SyncWave.applyByKind(monitor);
    SyncWave.applyByKind(dashboard);
  }
}

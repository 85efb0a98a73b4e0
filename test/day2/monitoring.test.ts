/**
 * Monitoring constructs: the PodMonitor and the Grafana dashboard ConfigMap synthesize, and every
 * dashboard query names only metrics the runtime really exports (read from its prom-client registry).
 */
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  DASHBOARD_FILE,
  dashboardQueries,
  GrafanaDashboardConfigMap,
  metricNamesOf,
  StunnerPodMonitor,
  stunnerDashboard,
} from '../../constructs/gateway/monitoring.js';
import { parseConfig } from '../../contract/config/index.js';
import { createLogger } from '../../runtime/log/logger.js';
import { createMetrics, METRIC_NAMES } from '../../runtime/process/metrics.js';
import { metricsSourceOf } from '../../runtime/process/stunnerd.js';
import { Relay } from '../../runtime/relay/relay.js';

async function exportedMetricNames(): Promise<Set<string>> {
  const stunnerd = new Relay({
    config: parseConfig({ version: 'v1', auth: { credentials: { username: 'u', password: 'p' } } }),
    logger: createLogger('all:ERROR', () => {}),
  });
  const metrics = createMetrics(metricsSourceOf(stunnerd));
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) names.add(m.name);
  await stunnerd.stop();
  return names;
}

describe('monitoring', () => {
  it('the metric-name extractor sees metrics, not functions, labels or variables', () => {
    expect(
      metricNamesOf(
        '8 * sum by (name, direction) (rate(foo_total{namespace=~"$namespace"}[$__rate_interval]))',
      ),
    ).toEqual(['foo_total']);
    expect(metricNamesOf('label_values(bar_active, namespace)')).toEqual(['bar_active']);
    expect(metricNamesOf('a_metric / on (pod) group_left b_metric')).toEqual(['a_metric', 'b_metric']);
  });

  it('every dashboard query names only metrics the runtime exports, and uses all STUNner metrics', async () => {
    const exported = await exportedMetricNames();
    for (const m of METRIC_NAMES) expect(exported).toContain(m);
    const used = new Set<string>();
    const queries = dashboardQueries(stunnerDashboard());
    expect(queries.length).toBeGreaterThan(8);
    for (const q of queries) {
      const names = metricNamesOf(q);
      expect(names.length, q).toBeGreaterThan(0);
      for (const n of names) {
        expect(exported.has(n), `${n} in "${q}" is not exported by the runtime`).toBe(true);
        used.add(n);
      }
    }
    for (const m of METRIC_NAMES) expect(used, `dashboard never shows ${m}`).toContain(m);
  });

  it('synthesizes a PodMonitor and a dashboard ConfigMap', () => {
    const chart = new Chart(Testing.app(), 'c');
    new StunnerPodMonitor(chart, 'pm', {
      namespace: 'stunner',
      name: 'udp-gateway',
      selectorLabels: { 'app.kubernetes.io/instance': 'udp-gateway' },
      labels: { release: 'prometheus' },
    });
    new GrafanaDashboardConfigMap(chart, 'dash', { namespace: 'monitoring', folder: 'WebRTC' });
    const out = Testing.synth(chart);
    const pm = out.find((o) => o.kind === 'PodMonitor');
    expect(pm).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      metadata: { name: 'udp-gateway', namespace: 'stunner', labels: { release: 'prometheus' } },
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/instance': 'udp-gateway' } },
        podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }],
      },
    });
    const cm = out.find((o) => o.kind === 'ConfigMap');
    expect(cm.metadata).toMatchObject({
      labels: { grafana_dashboard: '1' },
      annotations: { grafana_folder: 'WebRTC' },
    });
    const dash = JSON.parse(cm.data[DASHBOARD_FILE]);
    expect(dash.uid).toBe('stunner-gateways');
    expect(dash.panels.length).toBe(9);
    // deterministic: the same bytes every synth
    const again = Testing.synth(
      (() => {
        const c = new Chart(Testing.app(), 'c');
        new GrafanaDashboardConfigMap(c, 'dash', { namespace: 'monitoring', folder: 'WebRTC' });
        return c;
      })(),
    );
    expect(again[0].data[DASHBOARD_FILE]).toBe(cm.data[DASHBOARD_FILE]);
  });

  it('refuses a PodMonitor that would select every pod', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    new StunnerPodMonitor(chart, 'pm', { namespace: 'stunner', name: 'gw', selectorLabels: {} });
    expect(() => app.synth()).toThrow(/selectorLabels must not be empty/);
  });
});

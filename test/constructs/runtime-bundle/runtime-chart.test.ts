/**
 * The runtime ConfigMap's chart: in an App, one chart per namespace (`stunnerd-runtime-<ns>`),
 * written to a file of its own next to the charts whose pods mount it, and shared by all of them;
 * in a lone Chart (no App), an object of that chart. Synth checks that Argo CD syncs that file
 * wherever it syncs a chart that needs it, and from exactly one Application.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiObject, Chart, Testing } from 'cdk8s';
import type { Construct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { chartFileName } from '../../../constructs/core/naming.js';
import {
  ArgoApplication,
  ClusterDestination,
  GatewaySmokeTest,
  GitOpsCluster,
  MultiClusterApp,
} from '../../../constructs/gitops/index.js';
import { GatewayRuntime, IceAuthService, StunnerGateway, TurnAuth } from '../../../constructs/index.js';
import {
  RUNTIME_CHART_PREFIX,
  RUNTIME_CONFIGMAP_NAME,
} from '../../../constructs/runtime-bundle/runtime-config-map.js';
import { find, type Manifest, runtimeChart, synth, synthErrors } from '../helpers.js';

const AUTH = TurnAuth.inline('media-user', 'Vq3-ajT9-pzL2-xw8');
const REPO = 'https://git.example.com/media/gitops.git';

const work = mkdtempSync(join(tmpdir(), 'runtime-chart-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function gateway(scope: Construct, id = 'udp-gateway', props: { runtime?: GatewayRuntime } = {}) {
  return new StunnerGateway(scope, id, { auth: AUTH, listeners: [{ name: 'udp' }], ...props });
}

/** The runtime volume's ConfigMap in a Deployment's pod. */
function mountedConfigMap(objects: Manifest[], deployment: string): string {
  const pod = find(objects, 'Deployment', deployment).spec.template.spec;
  return pod.volumes.find((v: { name: string }) => v.name === 'runtime').configMap.name;
}

/** An App with the chart `media` (a gateway in namespace stunner) and a chart for Argo CD. */
function mediaApp() {
  const app = Testing.app();
  const media = new Chart(app, 'media', { namespace: 'stunner' });
  gateway(media);
  const argocd = new Chart(app, 'argocd', { namespace: 'argocd' });
  const application = (name: string, include: string) =>
    new ArgoApplication(argocd, name, {
      repoURL: REPO,
      path: 'dist',
      include,
      destinationNamespace: 'stunner',
    });
  return { app, media, argocd, application };
}

describe('the runtime chart, in an App', () => {
  it('one per namespace, shared by the gateways of two charts, in a file of its own next to theirs', () => {
    const outdir = join(work, 'shared');
    const app = Testing.app({ outdir });
    const a = new Chart(app, 'a', { namespace: 'stunner' });
    const b = new Chart(app, 'b', { namespace: 'stunner' });
    gateway(a, 'udp-gateway');
    gateway(b, 'tcp-gateway');
    const runtime = runtimeChart(app, 'stunner')!;
    expect(runtime.node.id).toBe(`${RUNTIME_CHART_PREFIX}stunner`);
    expect(runtime.namespace).toBe('stunner');
    expect(chartFileName(runtime)).toBe('stunnerd-runtime-stunner.k8s.yaml');
    expect(app.charts.map((c) => c.node.id)).toEqual(['a', 'b', 'stunnerd-runtime-stunner']);

    // the ConfigMap is the runtime chart's only object; the gateways' charts mount it
    const objects = synth(runtime);
    expect(objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      `ConfigMap stunner/${RUNTIME_CONFIGMAP_NAME}`,
    ]);
    expect(objects[0].binaryData['stunnerd.mjs.gz']).toBeDefined();
    for (const [chart, deployment] of [
      [a, 'udp-gateway'],
      [b, 'tcp-gateway'],
    ] as const) {
      const own = synth(chart);
      expect(own.filter((o) => o.metadata.name === RUNTIME_CONFIGMAP_NAME)).toEqual([]);
      expect(mountedConfigMap(own, deployment)).toBe(RUNTIME_CONFIGMAP_NAME);
    }

    app.synth();
    expect(readdirSync(outdir).sort()).toEqual([
      'a.k8s.yaml',
      'b.k8s.yaml',
      'stunnerd-runtime-stunner.k8s.yaml',
    ]);
    const written = parseAllDocuments(readFileSync(join(outdir, chartFileName(runtime)), 'utf8')).map((d) =>
      d.toJS(),
    );
    expect(written).toEqual(objects);
  });

  it('gateways in two namespaces get two runtime charts', () => {
    const app = Testing.app();
    gateway(new Chart(app, 'media', { namespace: 'stunner' }));
    gateway(new Chart(app, 'edge', { namespace: 'edge' }));
    expect(synthErrors(app.charts[0]!)).toEqual([]);
    const charts = ['stunner', 'edge'].map((ns) => runtimeChart(app, ns)!);
    expect(charts.map((c) => chartFileName(c))).toEqual([
      'stunnerd-runtime-stunner.k8s.yaml',
      'stunnerd-runtime-edge.k8s.yaml',
    ]);
    expect(charts.map((c) => synth(c).map((o) => `${o.metadata.namespace}/${o.metadata.name}`))).toEqual([
      ['stunner/stunnerd-runtime'],
      ['edge/stunnerd-runtime'],
    ]);
  });

  it('is not created in image mode', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'media', { namespace: 'stunner' });
    gateway(chart, 'udp-gateway', { runtime: GatewayRuntime.image('registry.example.org/stunnerd:1.0.0') });
    expect(synthErrors(chart)).toEqual([]);
    expect(runtimeChart(app, 'stunner')).toBeUndefined();
    expect(app.charts.map((c) => c.node.id)).toEqual(['media']);
    expect(synth(chart).filter((o) => o.metadata.name === RUNTIME_CONFIGMAP_NAME)).toEqual([]);
  });
});

describe('the runtime ConfigMap without an App', () => {
  it('stays in the chart when the chart is the root of the construct tree', () => {
    // (cdk8s serializes only under an App, so the construct tree is what there is to check)
    const chart = new Chart(undefined as unknown as Construct, 'media', { namespace: 'stunner' });
    gateway(chart, 'udp-gateway');
    gateway(chart, 'tcp-gateway');
    expect(chart.node.findAll().filter((c) => c !== chart && Chart.isChart(c))).toEqual([]);
    const runtimes = chart.node
      .findAll()
      .filter(ApiObject.isApiObject)
      .filter((o) => o.kind === 'ConfigMap' && o.name === RUNTIME_CONFIGMAP_NAME);
    expect(runtimes.map((o) => [Chart.of(o), o.metadata.namespace])).toEqual([[chart, 'stunner']]);
  });
});

describe('Argo CD syncs the runtime chart with the charts that mount it', () => {
  it("fails synth when an Application syncs a gateway's chart but not the runtime's file, naming both", () => {
    const { media, application } = mediaApp();
    application('media', 'media.k8s.yaml');
    expect(synthErrors(media)).toEqual([
      '[stunnerd-runtime-stunner/ConfigMap] ArgoApplication "media" syncs chart media.k8s.yaml, whose pods mount ConfigMap stunner/stunnerd-runtime (chart file stunnerd-runtime-stunner.k8s.yaml), but not that file: include stunnerd-runtime-stunner.k8s.yaml in its source',
    ]);
  });

  it('counts the ICE auth service and the smoke test in another chart as users too', () => {
    const { app, media, argocd } = mediaApp();
    const probes = new Chart(app, 'probes', { namespace: 'stunner' });
    const gw = media.node.findChild('udp-gateway') as StunnerGateway;
    new IceAuthService(probes, 'ice-auth', { gateways: [gw], allowAnySource: true });
    new GatewaySmokeTest(probes, 'smoke', { gateway: gw });
    new ArgoApplication(argocd, 'probes', {
      repoURL: REPO,
      path: 'dist',
      include: 'probes.k8s.yaml',
      destinationNamespace: 'stunner',
    });
    const errors = synthErrors(media);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('ArgoApplication "probes" syncs chart probes.k8s.yaml, whose pods mount');
  });

  it('passes when its include glob covers the runtime file too', () => {
    const { media, application } = mediaApp();
    application('media', '{media,stunnerd-runtime-*}.k8s.yaml');
    expect(synthErrors(media)).toEqual([]);
  });

  it('passes when an Application syncs the whole directory, and when none syncs it', () => {
    const whole = mediaApp();
    new ArgoApplication(whole.argocd, 'all', {
      repoURL: REPO,
      path: 'dist',
      destinationNamespace: 'stunner',
    });
    expect(synthErrors(whole.media)).toEqual([]);
    const none = mediaApp();
    expect(synthErrors(none.media)).toEqual([]);
  });

  it('an exclude glob that leaves the runtime file out fails too', () => {
    const { media, argocd } = mediaApp();
    new ArgoApplication(argocd, 'media', {
      repoURL: REPO,
      path: 'dist',
      exclude: 'stunnerd-runtime-*.k8s.yaml',
      destinationNamespace: 'stunner',
    });
    expect(synthErrors(media).join('\n')).toMatch(
      /ArgoApplication "media" syncs chart media\.k8s\.yaml, whose pods mount .* but not that file: include stunnerd-runtime-stunner\.k8s\.yaml/,
    );
  });

  it('fails synth when two Applications both include the runtime file: exactly one may own it', () => {
    const { app, media, application } = mediaApp();
    gateway(new Chart(app, 'second', { namespace: 'stunner' }), 'tcp-gateway');
    application('media', '{media,stunnerd-runtime-stunner}.k8s.yaml');
    application('second', '{second,stunnerd-runtime-stunner}.k8s.yaml');
    expect(synthErrors(media)).toEqual([
      '[stunnerd-runtime-stunner/ConfigMap] ConfigMap stunner/stunnerd-runtime (chart file stunnerd-runtime-stunner.k8s.yaml) is synced by ArgoApplication "media" and ArgoApplication "second": let exactly one of them include it',
    ]);
  });

  it('passes under a MultiClusterApp, which syncs each cluster directory whole', () => {
    const outdir = join(work, 'multi');
    const clusters = ['eu', 'us'].map(
      (name) =>
        new GitOpsCluster({
          name,
          destination: ClusterDestination.byServer(`https://${name}.example.com:6443`),
        }),
    );
    const layout = new MultiClusterApp({ clusters, outdir, onWarning: () => {} });
    layout.addCharts((scope) => {
      gateway(new Chart(scope, 'media', { namespace: 'stunner' }), 'udp-gateway');
      gateway(new Chart(scope, 'second', { namespace: 'stunner' }), 'tcp-gateway');
    });
    layout.synth();
    for (const c of ['eu', 'us'])
      expect(readdirSync(join(outdir, c)).sort()).toEqual([
        'media.k8s.yaml',
        'second.k8s.yaml',
        'stunnerd-runtime-stunner.k8s.yaml',
      ]);
  });
});

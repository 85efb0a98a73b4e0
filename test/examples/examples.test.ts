/**
 * The construct examples (examples/<name>/chart.ts, listed in examples/README.md) synthesize as
 * written, render what their README says, and draw no synth warning: a user copies them. (tsc
 * compiles them with the rest; the demo tutorials are tested from dist/ by tutorials.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, type Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { syncsChartFile } from '../../constructs/gitops/argo-application.js';
import { Warnings } from '../../constructs/index.js';
import { ArgoCdChart, MediaChart } from '../../examples/argocd/chart.js';
import { ImageModeChart, RUNTIME_IMAGE } from '../../examples/image-mode/chart.js';
import { MonitoringChart } from '../../examples/monitoring/chart.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');

type Obj = {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
};

/** Every chart of `app`, synthesized and validated as `cdk8s synth` does. */
function synth(app: App): Obj[] {
  const charts = app.node.children as Chart[];
  app.synth(); // runs the constructs' validations: throws on a problem
  return charts.flatMap((c) => Testing.synth(c) as Obj[]);
}

const find = (objs: Obj[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name);

describe('examples/', () => {
  it('every example directory with a chart.ts is listed in examples/README.md', () => {
    const readme = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
    const withChart = readdirSync(EXAMPLES, { withFileTypes: true })
      .filter((e) => e.isDirectory() && readdirSync(join(EXAMPLES, e.name)).includes('chart.ts'))
      .map((e) => e.name);
    expect(withChart.sort()).toEqual(['argocd', 'image-mode', 'monitoring']);
    for (const name of withChart) expect(readme, name).toContain(`](${name}/README.md)`);
  });

  it('monitoring: a PodMonitor with the release label and the dashboard in Grafana’s namespace', () => {
    const app = Testing.app();
    new MonitoringChart(app, 'monitoring');
    const objs = synth(app);
    const monitor = find(objs, 'PodMonitor', 'udp-gateway')!;
    expect(monitor.metadata.labels).toEqual({ release: 'kube-prometheus-stack' });
    expect(monitor.metadata.annotations?.['argocd.argoproj.io/sync-wave']).toBeDefined();
    const dashboard = find(objs, 'ConfigMap', 'stunner-dashboard')!;
    expect(dashboard.metadata.namespace).toBe('observability');
    expect(dashboard.metadata.annotations?.grafana_folder).toBe('WebRTC');
    expect(Warnings.collect(app)).toEqual([]);
  });

  it('argocd: the media chart with its smoke test, and the project and Application that sync it', () => {
    const app = Testing.app();
    const media = new MediaChart(app, 'media');
    new ArgoCdChart(app, 'argocd', { media });
    const objs = synth(app);
    const job = objs.find((o) => o.kind === 'Job')!;
    expect(job.metadata.annotations?.['argocd.argoproj.io/hook']).toBe('PostSync');
    expect(find(objs, 'AppProject', 'media')).toBeDefined();
    const application = find(objs, 'Application', 'media')!;
    expect(JSON.stringify(application.spec)).toContain('ServerSideApply=true');
    // media.k8s.yaml, with the runtime its pods mount, which the library renders in a file of its own
    expect(application.spec).toMatchObject({
      source: { directory: { include: '{media,stunnerd-runtime-stunner}.k8s.yaml' } },
    });
    for (const file of ['media.k8s.yaml', 'stunnerd-runtime-stunner.k8s.yaml'])
      expect(syncsChartFile(file, '{media,stunnerd-runtime-stunner}.k8s.yaml'), file).toBe(true);
    expect(app.charts.map((c) => c.node.id).sort()).toEqual(['argocd', 'media', 'stunnerd-runtime-stunner']);
    expect(find(objs, 'ConfigMap', 'stunnerd-runtime')?.metadata.namespace).toBe('stunner');
    expect(Warnings.collect(app)).toEqual([]);
  });

  it('image mode: the gateways and the ICE auth service run the image, and no runtime ConfigMap', () => {
    const app = Testing.app();
    new ImageModeChart(app, 'image-mode');
    const objs = synth(app);
    const deployments = objs.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      'stunner-auth',
      'tcp-gateway',
      'udp-gateway',
    ]);
    for (const d of deployments) expect(JSON.stringify(d.spec), d.metadata.name).toContain(RUNTIME_IMAGE);
    expect(find(objs, 'ConfigMap', 'stunnerd-runtime')).toBeUndefined();
    expect(app.charts.map((c) => c.node.id)).toEqual(['image-mode']); // no runtime chart either
    expect(Warnings.collect(app)).toEqual([]);
  });
});

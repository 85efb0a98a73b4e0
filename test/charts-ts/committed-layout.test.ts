/**
 * The committed layout that charts-ts renders (dist/<cluster>/<chart>.k8s.yaml, with each
 * namespace's runtime file dist/<cluster>/stunnerd-runtime-<namespace>.k8s.yaml, and dist/argocd/):
 * each cluster's directory holds exactly its own objects, the Argo CD objects are the documented
 * ones, and two synths of charts-ts are byte-identical to each other and to the committed dist/.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLayout } from '../../charts-ts/app.js';
import { CLOUDRETRO_COORDINATOR, CLOUDRETRO_US_EAST_ICE_AUTH } from '../../charts-ts/cloudretro-chart.js';
import { CLUSTERS } from '../../charts-ts/clusters.js';
import { listFiles, loadYaml, validateArgo } from '../constructs/gitops/helpers.js';

const DIST = path.resolve('dist');
const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'gitops-committed-'));
  temps.push(d);
  return d;
}
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const CLUSTER_FILES: Record<string, string[]> = {
  'eu-west': [
    'cloudretro.k8s.yaml',
    'direct-call.k8s.yaml',
    'janus.k8s.yaml',
    'media-gateway.k8s.yaml',
    'mediasoup.k8s.yaml',
    'simple-tunnel.k8s.yaml',
    'stunnerd-runtime-cloudretro.k8s.yaml',
    'stunnerd-runtime-direct-call.k8s.yaml',
    'stunnerd-runtime-janus.k8s.yaml',
    'stunnerd-runtime-mediasoup.k8s.yaml',
    'stunnerd-runtime-simple-tunnel.k8s.yaml',
    'stunnerd-runtime-stunner.k8s.yaml',
    'stunnerd-runtime-turn-tls.k8s.yaml',
    'turn-tls.k8s.yaml',
  ],
  'us-east': [
    'cloudretro.k8s.yaml',
    'media-gateway.k8s.yaml',
    'stunnerd-runtime-cloudretro.k8s.yaml',
    'stunnerd-runtime-stunner.k8s.yaml',
  ],
};

describe('the committed multi-cluster layout', () => {
  it('has one directory per GitOpsCluster of charts-ts, and dist/argocd', () => {
    expect(CLUSTERS.map((c) => c.name)).toEqual(['eu-west', 'us-east']);
    expect(listFiles(DIST)).toEqual([
      'argocd/argocd.k8s.yaml',
      'argocd/projects.k8s.yaml',
      ...Object.entries(CLUSTER_FILES).flatMap(([c, files]) => files.map((f) => `${c}/${f}`)),
    ]);
  });

  it("each cluster's directory holds exactly its own objects: its address, its secret store, no Argo CD object", () => {
    for (const cluster of CLUSTERS) {
      const others = CLUSTERS.filter((c) => c !== cluster);
      for (const f of CLUSTER_FILES[cluster.name]!) {
        const file = path.join(DIST, cluster.name, f);
        // CloudRetro spans both clusters on purpose: it may name the other cluster's coordinator and ICE auth service
        let text = readFileSync(file, 'utf8');
        for (const link of [CLOUDRETRO_COORDINATOR, CLOUDRETRO_US_EAST_ICE_AUTH])
          text = text.replaceAll(link, '');
        for (const other of others) {
          expect(text, `${cluster.name}/${f}`).not.toContain(other.name);
          for (const a of other.publicAddresses) expect(text, `${cluster.name}/${f}`).not.toContain(a);
        }
        const objects = loadYaml(file);
        expect(objects.filter((o) => o.apiVersion.startsWith('argoproj.io/'))).toEqual([]);
      }
      const media = loadYaml(path.join(DIST, cluster.name, 'media-gateway.k8s.yaml'));
      const config = media.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'udp-gateway-config');
      const listeners = JSON.parse(config.data['stunnerd.conf']).listeners;
      expect(listeners.map((l: { public_address?: string }) => l.public_address)).toEqual([
        cluster.publicAddresses[0],
      ]);
      const external = media.find((o) => o.kind === 'ExternalSecret');
      expect(external.metadata.name).toBe('stunner-auth');
      expect(external.spec.data.map((d: { remoteRef: { key: string } }) => d.remoteRef.key)).toEqual([
        `stunner/${cluster.name}/turn`,
        `stunner/${cluster.name}/turn`,
      ]);
    }
  });

  it('dist/argocd holds the ApplicationSet (clusters by label × git directory) and the root; the AppProjects apart, which the root never syncs', () => {
    const objects = loadYaml(path.join(DIST, 'argocd', 'argocd.k8s.yaml'));
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ApplicationSet/stunner',
      'Application/root',
    ]);
    const projects = loadYaml(path.join(DIST, 'argocd', 'projects.k8s.yaml'));
    expect(projects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'AppProject/stunner',
      'AppProject/stunner-root',
    ]);
    for (const o of [...objects, ...projects]) validateArgo(o);
    const [set, root] = objects;
    const [project, rootProject] = projects;
    // Cluster-scoped: only the Namespaces the charts render, by name (issue 22).
    expect(project.spec.clusterResourceWhitelist).toEqual(
      ['cloudretro', 'direct-call', 'janus', 'mediasoup', 'simple-tunnel', 'stunner', 'turn-tls'].map(
        (name) => ({
          group: '',
          kind: 'Namespace',
          name,
        }),
      ),
    );
    expect(rootProject.spec).toMatchObject({
      clusterResourceWhitelist: [],
      destinations: [{ server: 'https://kubernetes.default.svc', namespace: 'argocd' }],
      namespaceResourceWhitelist: [
        { group: 'argoproj.io', kind: 'Application' },
        { group: 'argoproj.io', kind: 'ApplicationSet' },
      ],
    });
    expect(project.spec.destinations).toEqual(
      CLUSTERS.flatMap((c) =>
        [
          'cloudretro',
          'direct-call',
          'janus',
          'media',
          'mediasoup',
          'simple-tunnel',
          'stunner',
          'turn-tls',
        ].map((namespace) => ({
          namespace,
          server: c.destination.server,
        })),
      ),
    );
    expect(set.spec.generators[0].matrix.generators).toEqual([
      { clusters: { selector: { matchLabels: { 'stunner.l7mp.io/gateway': 'true' } } } },
      {
        git: {
          repoURL: 'https://git.example.com/media/stunner-gitops.git',
          revision: 'main',
          directories: [{ path: 'dist/{{.name}}' }],
        },
      },
    ]);
    expect(set.spec.template.spec.source.path).toBe('{{.path.path}}');
    expect(set.spec.template.spec.syncPolicy.syncOptions).toEqual([
      'FailOnSharedResource=true',
      'ServerSideApply=true', // the apiserver refuses unknown fields (Argo CD's client-side apply drops them)
      'SkipDryRunOnMissingResource=true', // the ExternalSecrets' CRD
    ]);
    expect(set.spec.template.spec.destination.namespace).toBe('stunner');
    expect(root.spec.source.path).toBe('dist/argocd');
    expect(root.spec.source.directory).toEqual({ exclude: 'projects.k8s.yaml' });
    expect(root.spec.project).toBe('stunner-root');
  });

  it('two synths of charts-ts are byte-identical to each other and to the committed dist/, without paths or dates', () => {
    const a = tempDir();
    const b = tempDir();
    createLayout({ outdir: a }).synth();
    createLayout({ outdir: b }).synth();
    const files = listFiles(a);
    expect(listFiles(b)).toEqual(files);
    expect(listFiles(DIST)).toEqual(files);
    for (const f of files) {
      const text = readFileSync(path.join(a, f), 'utf8');
      expect(readFileSync(path.join(b, f), 'utf8') === text, f).toBe(true);
      expect(readFileSync(path.join(DIST, f), 'utf8') === text, `dist/${f} is stale: npm run synth`).toBe(
        true,
      );
      // (not tmpdir(): the pods mount an emptyDir at /tmp)
      for (const leak of [a, b, process.cwd()]) expect(text.includes(leak), f).toBe(false);
      expect(text, f).not.toContain('creationTimestamp');
      expect(text, f).not.toMatch(/\b(19|20)\d\d-[01]\d-[0-3]\dT/); // no timestamp
    }
  });

  it('app.kubernetes.io/instance is only ever the gateway, service, demo server or smoke test name, which never changes', () => {
    for (const f of listFiles(DIST)) {
      for (const o of loadYaml(path.join(DIST, f))) {
        const instance = o.metadata.labels?.['app.kubernetes.io/instance'];
        if (instance === undefined) continue;
        expect(
          [
            ...[
              'udp-gateway',
              'tcp-gateway',
              'tls-gateway',
              'stunner-auth',
              'udp-greeter',
              'direct-call',
              'janus-echo',
              'janus',
            ],
            ...['udp-gateway-smoke-test', 'tcp-gateway-smoke-test'],
            ...['cloudretro-coordinator', 'cloudretro-worker', 'mediasoup-server', 'mediasoup-landing'],
          ],
          `${f}: ${o.kind} ${o.metadata.name}`,
        ).toContain(instance);
      }
    }
  });
});

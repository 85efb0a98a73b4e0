import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GitOpsCluster, MultiClusterApp } from '../../../constructs/gitops/index.js';
import { CLUSTERS, twoClusterApp } from './fixtures.js';
import { errorLines, listFiles, loadYaml, validateArgo } from './helpers.js';

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'gitops-layout-'));
  temps.push(d);
  return d;
}
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('MultiClusterApp', () => {
  const out = tempDir();
  twoClusterApp(out).synth();

  it('writes dist/<cluster>/<chart>.k8s.yaml per cluster and dist/argocd/ with the Argo CD objects', () => {
    expect(listFiles(out)).toEqual([
      'argocd/argocd.k8s.yaml',
      'eu-west/media.k8s.yaml',
      'us-east/media.k8s.yaml',
    ]);
  });

  it("each cluster's directory holds exactly its own objects", () => {
    for (const cluster of CLUSTERS) {
      const objects = loadYaml(path.join(out, cluster.name, 'media.k8s.yaml'));
      expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
        'Namespace/stunner',
        'ServiceAccount/gateway',
        'Role/gateway',
        'ConfigMap/gateway-config',
        'SealedSecret/stunner-auth',
        'Deployment/gateway',
        'Job/demo',
      ]);
      const config = objects.find((o) => o.kind === 'ConfigMap');
      expect(config.data).toEqual({
        cluster: cluster.name,
        publicAddress: cluster.publicAddresses.join(','),
      });
      const text = readFileSync(path.join(out, cluster.name, 'media.k8s.yaml'), 'utf8');
      for (const other of CLUSTERS.filter((c) => c !== cluster)) {
        expect(text).not.toContain(other.name);
        expect(text).not.toContain(other.publicAddresses[0]);
      }
      // no Argo CD object in a cluster directory
      expect(objects.filter((o) => o.apiVersion.startsWith('argoproj.io/'))).toEqual([]);
    }
  });

  it('dist/argocd holds only Argo CD objects, each valid against @kubernetes-models/argo-cd', () => {
    const objects = loadYaml(path.join(out, 'argocd', 'argocd.k8s.yaml'));
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'AppProject/stunner',
      'ApplicationSet/stunner',
      'Application/root',
    ]);
    for (const o of objects) validateArgo(o);
    const [project, set, root] = objects;
    // the project allows exactly the kinds the cluster charts render, and the derived sync option
    expect(project.spec.clusterResourceWhitelist).toEqual([
      { group: '', kind: 'Namespace', name: 'stunner' },
    ]);
    expect(project.spec.namespaceResourceWhitelist).toEqual([
      { group: '', kind: 'ConfigMap' },
      { group: '', kind: 'ServiceAccount' },
      { group: 'apps', kind: 'Deployment' },
      { group: 'batch', kind: 'Job' },
      { group: 'bitnami.com', kind: 'SealedSecret' },
      { group: 'rbac.authorization.k8s.io', kind: 'Role' },
    ]);
    expect(project.spec.destinations).toEqual([
      { server: 'https://eu-west.example.com:6443', namespace: 'stunner' },
      { server: 'https://us-east.example.com:6443', namespace: 'stunner' },
    ]);
    expect(set.spec.template.spec.project).toBe('stunner');
    expect(set.spec.template.spec.syncPolicy.syncOptions).toEqual(['SkipDryRunOnMissingResource=true']);
    expect(root.spec.source.path).toBe('dist/argocd');
  });

  it('repository paths come from repoPath, never from the outdir on this machine', () => {
    const layout = new MultiClusterApp({
      clusters: CLUSTERS,
      outdir: '/tmp/elsewhere',
      repoPath: 'envs/dist',
    });
    expect(layout.repoPathOf(CLUSTERS[0]!)).toBe('envs/dist/eu-west');
    expect(layout.argocdRepoPath).toBe('envs/dist/argocd');
    expect(layout.appOf('us-east').outdir).toBe(path.join('/tmp/elsewhere', 'us-east'));
  });

  it('fails before writing anything, with where and why', () => {
    const dir = tempDir();
    const layout = new MultiClusterApp({
      clusters: [...CLUSTERS, new GitOpsCluster({ name: 'argocd' }), new GitOpsCluster({ name: 'Bad' })],
      outdir: dir,
    });
    layout.addCharts(() => {}); // no chart anywhere
    let error: unknown;
    try {
      layout.synth();
    } catch (e) {
      error = e;
    }
    const lines = errorLines(error);
    expect(lines).toContain(
      '[] MultiClusterApp: cluster "Bad": cluster name "Bad" must be lowercase letters, digits and \'-\', and start and end with a letter or digit (it names the directory dist/<name>/)',
    );
    expect(lines).toContain(
      '[] MultiClusterApp: cluster "argocd" would share the directory of the Argo CD objects: rename it',
    );
    expect(lines).toContain(
      '[] MultiClusterApp: cluster "eu-west" has no chart: Argo CD would sync an empty directory (and prune everything there)',
    );
    expect(listFiles(dir)).toEqual([]);
  });
});

describe('determinism', () => {
  it('two synths of a two-cluster app into two temp dirs are byte-identical, without paths or dates', () => {
    const a = tempDir();
    const b = tempDir();
    twoClusterApp(a).synth();
    twoClusterApp(b).synth();
    const files = listFiles(a);
    expect(listFiles(b)).toEqual(files);
    expect(files.length).toBe(3);
    for (const f of files) {
      const textA = readFileSync(path.join(a, f), 'utf8');
      expect(readFileSync(path.join(b, f), 'utf8')).toBe(textA);
      for (const leak of [a, b, tmpdir(), process.cwd()]) expect(textA).not.toContain(leak);
      expect(textA).not.toMatch(/\b(19|20)\d\d-[01]\d-[0-3]\d/); // no date
      expect(textA).not.toMatch(/\d\d:\d\d:\d\d/); // no time of day
      expect(textA).not.toContain('creationTimestamp');
      expect(textA).not.toContain('app.kubernetes.io/instance');
    }
  });
});

/** A two-cluster layout built from the GitOps constructs, as a user's charts-ts would build it. */
import { ApiObject, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { ClusterScopedObject } from '../../../constructs/core/cluster-scoped.js';
import {
  ArgoApplicationSet,
  ArgoAppOfApps,
  ArgoProject,
  ClusterDestination,
  ClusterGenerator,
  deriveSyncOptions,
  GitOpsCluster,
  type IGitOpsCluster,
  MultiClusterApp,
} from '../../../constructs/gitops/index.js';
import { SealedSecret, SecretKeys, SyncWave } from '../../../constructs/index.js';

export const REPO = 'https://git.example.com/media/stunner-gitops.git';

export const CLUSTERS = [
  new GitOpsCluster({
    name: 'eu-west',
    labels: { 'stunner.l7mp.io/gateway': 'true' },
    destination: ClusterDestination.byServer('https://eu-west.example.com:6443'),
    publicAddresses: ['198.51.100.10'],
  }),
  new GitOpsCluster({
    name: 'us-east',
    labels: { 'stunner.l7mp.io/gateway': 'true' },
    destination: ClusterDestination.byServer('https://us-east.example.com:6443'),
    publicAddresses: ['203.0.113.20'],
  }),
];

/** A fake kubeseal ciphertext: base64 of 400 bytes, different per cluster and key. */
export function fakeCiphertext(seed: string): string {
  const bytes = Buffer.alloc(400);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (seed.charCodeAt(i % seed.length) * (i + 7)) & 0xff;
  return bytes.toString('base64');
}

/** The same chart class, once per cluster with different props: one object of every wave. */
export class MediaChart extends Chart {
  constructor(scope: Construct, id: string, cluster: IGitOpsCluster) {
    super(scope, id, { namespace: 'stunner' });
    const wave = (o: ApiObject) => SyncWave.forKind(o.kind, o.apiGroup).applyTo(o);
    wave(
      new ClusterScopedObject(this, 'ns', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'stunner' },
      }),
    );
    wave(
      new ApiObject(this, 'sa', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'gateway' } }),
    );
    wave(
      new ApiObject(this, 'role', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'gateway' },
        rules: [],
      }),
    );
    wave(
      new ApiObject(this, 'config', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'gateway-config' },
        data: { cluster: cluster.name, publicAddress: cluster.publicAddresses.join(',') },
      }),
    );
    new SealedSecret(this, 'auth', {
      name: 'stunner-auth',
      encryptedData: {
        username: fakeCiphertext(`${cluster.name}-u`),
        password: fakeCiphertext(`${cluster.name}-p`),
      },
      requiredKeys: SecretKeys.TURN_STATIC,
    });
    wave(
      new ApiObject(this, 'deploy', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'gateway' },
        spec: { replicas: 1 },
      }),
    );
    SyncWave.DEMOS_AND_SMOKE_TESTS.applyTo(
      new ApiObject(this, 'demo', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'demo' } }),
    );
  }
}

/** Two clusters into `outdir`; Argo CD objects: a project, an ApplicationSet and the root. */
export function twoClusterApp(outdir: string): MultiClusterApp {
  const layout = new MultiClusterApp({ clusters: CLUSTERS, outdir });
  layout.addCharts((scope, cluster) => new MediaChart(scope, 'media', cluster));
  const argo = new Chart(layout.argocd, 'argocd', { namespace: 'argocd' });
  const project = new ArgoProject(argo, 'project', {
    name: 'stunner',
    sourceRepos: [REPO],
    destinations: ArgoProject.destinationsFor(CLUSTERS, ['stunner']),
    kindsFrom: layout.clusterApps,
  });
  new ArgoApplicationSet(argo, 'stunner', {
    generator: ClusterGenerator.matchingLabels({ 'stunner.l7mp.io/gateway': 'true' }),
    repoURL: REPO,
    project,
    destinationNamespace: 'stunner',
    syncOptions: deriveSyncOptions(...layout.clusterApps),
  });
  new ArgoAppOfApps(argo, 'root', { repoURL: REPO, path: layout.argocdRepoPath });
  return layout;
}

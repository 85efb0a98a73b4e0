import { ApiObject, Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  ArgoApplication,
  ArgoAppOfApps,
  ArgoProject,
  ClusterDestination,
  GitOpsCluster,
  resourceKindsOf,
  SyncOption,
} from '../../../constructs/gitops/index.js';
import { newChart, synthErrors, validateArgo } from './helpers.js';

const REPO = 'https://git.example.com/media/stunner-gitops.git';

describe('ArgoApplication', () => {
  it('renders source, destination, sync policy and typed sync options; validates against the Argo CD model', () => {
    const chart = newChart();
    new ArgoApplication(chart, 'media-gateway', {
      repoURL: REPO,
      path: 'dist/prod',
      include: 'media-gateway.k8s.yaml',
      destination: ClusterDestination.byServer('https://prod.example.com:6443'),
      destinationNamespace: 'stunner',
      // given out of order and twice: rendered once each, sorted by key
      syncOptions: [
        SyncOption.SKIP_DRY_RUN_ON_MISSING_RESOURCE,
        SyncOption.SERVER_SIDE_APPLY,
        SyncOption.CREATE_NAMESPACE,
        SyncOption.SERVER_SIDE_APPLY,
      ],
      project: ArgoProject.fromName('stunner'),
    });
    const [app] = Testing.synth(chart);
    validateArgo(app);
    expect(app).toEqual({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'media-gateway', namespace: 'argocd' },
      spec: {
        project: 'stunner',
        source: {
          repoURL: REPO,
          targetRevision: 'main',
          path: 'dist/prod',
          directory: { include: 'media-gateway.k8s.yaml' },
        },
        destination: { server: 'https://prod.example.com:6443', namespace: 'stunner' },
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions: ['CreateNamespace=true', 'ServerSideApply=true', 'SkipDryRunOnMissingResource=true'],
        },
      },
    });
  });

  it('targets a cluster by its Argo CD name; manual sync leaves out `automated`', () => {
    const chart = newChart();
    const cluster = new GitOpsCluster({ name: 'edge-1' });
    new ArgoApplication(chart, 'edge', {
      repoURL: REPO,
      path: 'dist/edge-1',
      destination: cluster.destination,
      automated: false,
      cascadeDelete: true,
    });
    const [app] = Testing.synth(chart);
    validateArgo(app);
    expect(app.spec.destination).toEqual({ name: 'edge-1' });
    expect(app.spec.syncPolicy).toBeUndefined();
    expect(app.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
  });

  it('fails synth with where and why', () => {
    const chart = newChart();
    new ArgoApplication(chart, 'bad', {
      name: 'Bad_Name',
      repoURL: REPO,
      path: '/home/me/repo/dist',
      include: 'sub/dir.yaml',
      automated: false,
      prune: true,
      syncOptions: [
        SyncOption.CREATE_NAMESPACE,
        SyncOption.of('PrunePropagationPolicy', 'foreground', 'application'),
      ],
    });
    const errors = synthErrors(chart);
    expect(errors.every((e) => e.startsWith('[test/bad] ArgoApplication "Bad_Name": '))).toBe(true);
    const text = errors.join('\n');
    expect(text).toContain('name "Bad_Name" must be lowercase');
    expect(text).toContain(
      'path "/home/me/repo/dist" is absolute; give the path relative to the repository root',
    );
    expect(text).toContain('include "sub/dir.yaml" must be a non-empty file glob inside path');
    expect(text).toContain('prune and selfHeal act only under automated sync');
    expect(text).toContain(
      'CreateNamespace creates the destination namespace, but destinationNamespace is not set',
    );
  });

  it('refuses an option that only a resource may carry, and conflicting values', () => {
    const chart = newChart();
    new ArgoApplication(chart, 'app', {
      repoURL: REPO,
      path: 'dist',
      syncOptions: [
        SyncOption.of('Delete', 'false', 'resource'),
        SyncOption.of('Replace', 'true'),
        SyncOption.of('Replace', 'false'),
      ],
    });
    expect(synthErrors(chart)).toEqual([
      '[test/app] ArgoApplication "app": sync option Delete=false is only valid on a resource',
      '[test/app] ArgoApplication "app": sync option Replace is given twice with different values (true, false)',
    ]);
  });
});

describe('ArgoAppOfApps', () => {
  it('syncs dist/argocd into Argo CD’s own namespace on the cluster Argo CD runs in', () => {
    const chart = newChart();
    new ArgoAppOfApps(chart, 'root', { repoURL: REPO, targetRevision: 'v1.2.0' });
    const [root] = Testing.synth(chart);
    validateArgo(root);
    expect(root.metadata).toEqual({ name: 'root', namespace: 'argocd' });
    expect(root.spec.source).toEqual({ repoURL: REPO, targetRevision: 'v1.2.0', path: 'dist/argocd' });
    expect(root.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'argocd' });
  });
});

describe('ArgoProject', () => {
  function clusterChart(): Chart {
    const chart = new Chart(Testing.app(), 'media', { namespace: 'stunner' });
    new ApiObject(chart, 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stunner' } });
    new ApiObject(chart, 'cr', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' });
    new ApiObject(chart, 'dep', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gw' } });
    new ApiObject(chart, 'svc', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'gw' } });
    new ApiObject(chart, 'pm', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'gw' },
    });
    return chart;
  }

  it('derives the allowed kinds from the charts it will sync', () => {
    const kinds = resourceKindsOf(clusterChart());
    expect(kinds).toEqual({
      clusterResources: [
        { group: '', kind: 'Namespace' },
        { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
      ],
      clusterObjects: [
        { group: '', kind: 'Namespace', name: 'stunner' },
        {
          group: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: expect.stringMatching(/^media-cr-/),
        },
      ],
      namespaceResources: [
        { group: '', kind: 'Service' },
        { group: 'apps', kind: 'Deployment' },
        { group: 'monitoring.coreos.com', kind: 'PodMonitor' },
      ],
      namespaces: ['stunner'],
    });
  });

  it('renders repos, destinations and whitelists; validates against the Argo CD model', () => {
    const chart = newChart();
    const clusters = [
      new GitOpsCluster({
        name: 'prod',
        destination: ClusterDestination.byServer('https://prod.example.com'),
      }),
      new GitOpsCluster({ name: 'staging' }),
    ];
    new ArgoProject(chart, 'stunner', {
      sourceRepos: [REPO],
      destinations: ArgoProject.destinationsFor(clusters, ['stunner']),
      kindsFrom: [clusterChart()],
    });
    const [project] = Testing.synth(chart);
    validateArgo(project);
    expect(project.spec).toEqual({
      sourceRepos: [REPO],
      destinations: [
        { server: 'https://prod.example.com', namespace: 'stunner' },
        { name: 'staging', namespace: 'stunner' },
      ],
      // Each cluster-scoped kind under the rendered names only (issue 22): git cannot add another.
      clusterResourceWhitelist: [
        { group: '', kind: 'Namespace', name: 'stunner' },
        {
          group: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: expect.stringMatching(/^media-cr-/),
        },
      ],
      namespaceResourceWhitelist: [
        { group: '', kind: 'Service' },
        { group: 'apps', kind: 'Deployment' },
        { group: 'monitoring.coreos.com', kind: 'PodMonitor' },
      ],
    });
  });

  it('allows whole kinds with namedClusterResources: false', () => {
    const chart = newChart();
    new ArgoProject(chart, 'stunner', {
      sourceRepos: [REPO],
      destinations: ArgoProject.destinationsFor([new GitOpsCluster({ name: 'prod' })], ['stunner']),
      kindsFrom: [clusterChart()],
      namedClusterResources: false,
    });
    expect(Testing.synth(chart)[0].spec.clusterResourceWhitelist).toEqual([
      { group: '', kind: 'Namespace' },
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
    ]);
  });

  it('without kinds: no cluster-scoped kind, every namespaced kind', () => {
    const chart = newChart();
    new ArgoProject(chart, 'p', {
      sourceRepos: [REPO],
      destinations: [{ destination: ClusterDestination.inCluster(), namespace: '*' }],
    });
    const [project] = Testing.synth(chart);
    validateArgo(project);
    expect(project.spec.clusterResourceWhitelist).toEqual([]);
    expect(project.spec).not.toHaveProperty('namespaceResourceWhitelist');
  });

  it('fails synth with where and why', () => {
    const chart = newChart();
    new ArgoProject(chart, 'p', {
      sourceRepos: [],
      destinations: [{ destination: ClusterDestination.byServer('prod.example.com'), namespace: '' }],
    });
    expect(synthErrors(chart)).toEqual([
      '[test/p] ArgoProject "p": sourceRepos is empty: no Application could sync',
      '[test/p] ArgoProject "p": destination server "prod.example.com" is not an http(s) URL of a Kubernetes API server',
      '[test/p] ArgoProject "p": destination server prod.example.com: namespace must not be empty (use \'*\')',
    ]);
  });
});

import { Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  ArgoApplicationSet,
  ArgoProject,
  ClusterDestination,
  ClusterGenerator,
  GitOpsCluster,
  SyncOption,
} from '../../../constructs/gitops/index.js';
import { newChart, synthErrors, validateArgo } from './helpers.js';

const REPO = 'https://git.example.com/media/stunner-gitops.git';
const CLUSTERS = [
  new GitOpsCluster({
    name: 'eu-west',
    labels: { 'stunner.l7mp.io/gateway': 'true', region: 'eu' },
    destination: ClusterDestination.byServer('https://eu-west.example.com:6443'),
    publicAddresses: ['198.51.100.10'],
  }),
  new GitOpsCluster({
    name: 'us-east',
    labels: { 'stunner.l7mp.io/gateway': 'true', region: 'us' },
    destination: ClusterDestination.byServer('https://us-east.example.com:6443'),
    publicAddresses: ['203.0.113.20'],
  }),
];

describe('ArgoApplicationSet', () => {
  it('clusters by label × git directories: each cluster syncs dist/<cluster>/', () => {
    const chart = newChart();
    new ArgoApplicationSet(chart, 'stunner', {
      generator: ClusterGenerator.matchingLabels({ 'stunner.l7mp.io/gateway': 'true' }),
      repoURL: REPO,
      project: ArgoProject.fromName('stunner'),
      syncOptions: [SyncOption.SKIP_DRY_RUN_ON_MISSING_RESOURCE],
    });
    const [set] = Testing.synth(chart);
    validateArgo(set);
    expect(set.spec.goTemplate).toBe(true);
    expect(set.spec.goTemplateOptions).toEqual(['missingkey=error']);
    expect(set.spec.generators).toEqual([
      {
        matrix: {
          generators: [
            { clusters: { selector: { matchLabels: { 'stunner.l7mp.io/gateway': 'true' } } } },
            { git: { repoURL: REPO, revision: 'main', directories: [{ path: 'dist/{{.name}}' }] } },
          ],
        },
      },
    ]);
    expect(set.spec.syncPolicy).toEqual({ preserveResourcesOnDeletion: true });
    expect(set.spec.template).toEqual({
      metadata: { name: 'stunner-{{.nameNormalized}}' },
      spec: {
        project: 'stunner',
        source: { repoURL: REPO, targetRevision: 'main', path: '{{.path.path}}' },
        destination: { server: '{{.server}}' },
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions: ['SkipDryRunOnMissingResource=true'],
        },
      },
    });
  });

  it('a list generator for two clusters names each cluster, its server and its directory', () => {
    const chart = newChart();
    new ArgoApplicationSet(chart, 'stunner', {
      generator: ClusterGenerator.list(CLUSTERS),
      repoURL: REPO,
      targetRevision: 'production',
      root: 'deploy/dist',
      applicationNamePrefix: 'media-',
    });
    const [set] = Testing.synth(chart);
    validateArgo(set);
    expect(set.spec.generators).toEqual([
      {
        list: {
          elements: [
            { cluster: 'eu-west', server: 'https://eu-west.example.com:6443' },
            { cluster: 'us-east', server: 'https://us-east.example.com:6443' },
          ],
        },
      },
    ]);
    expect(set.spec.template.metadata.name).toBe('media-{{.cluster}}');
    expect(set.spec.template.spec.source).toEqual({
      repoURL: REPO,
      targetRevision: 'production',
      path: 'deploy/dist/{{.cluster}}',
    });
    expect(set.spec.template.spec.destination).toEqual({ server: '{{.server}}' });
  });

  it('a list of clusters addressed by Argo CD name templates destination.name', () => {
    const chart = newChart();
    new ArgoApplicationSet(chart, 'stunner', {
      generator: ClusterGenerator.list([new GitOpsCluster({ name: 'a' }), new GitOpsCluster({ name: 'b' })]),
      repoURL: REPO,
    });
    const [set] = Testing.synth(chart);
    validateArgo(set);
    expect(set.spec.generators[0].list.elements).toEqual([
      { cluster: 'a', destinationName: 'a' },
      { cluster: 'b', destinationName: 'b' },
    ]);
    expect(set.spec.template.spec.destination).toEqual({ name: '{{.destinationName}}' });
  });

  it('fails synth with where and why', () => {
    const chart = newChart();
    new ArgoApplicationSet(chart, 'mixed', {
      generator: ClusterGenerator.list([...CLUSTERS, new GitOpsCluster({ name: 'edge' }), CLUSTERS[0]!]),
      repoURL: REPO,
      root: '../dist',
    });
    new ArgoApplicationSet(chart, 'all', { generator: ClusterGenerator.matchingLabels({}), repoURL: REPO });
    expect(synthErrors(chart)).toEqual([
      '[test/mixed] ArgoApplicationSet "mixed": list() clusters must all be addressed by server URL or all by Argo CD name; by server: eu-west, us-east, eu-west; by name: edge',
      '[test/mixed] ArgoApplicationSet "mixed": list() names cluster "eu-west" twice',
      '[test/mixed] ArgoApplicationSet "mixed": root "../dist" leaves the repository (\'..\')',
      '[test/all] ArgoApplicationSet "all": matchingLabels() needs at least one label: an empty selector matches every cluster',
    ]);
  });
});

describe("an ApplicationSet's destination namespace against its project", () => {
  const project = (chart: ReturnType<typeof newChart>, namespaces: string[]) =>
    new ArgoProject(chart, 'project', {
      name: 'stunner',
      sourceRepos: [REPO],
      destinations: ArgoProject.destinationsFor(CLUSTERS, namespaces),
    });

  it('is refused at synth when the project allows no empty namespace (Argo CD: InvalidSpecError)', () => {
    const chart = newChart();
    new ArgoApplicationSet(chart, 'stunner', {
      generator: ClusterGenerator.matchingLabels({ 'stunner.l7mp.io/gateway': 'true' }),
      repoURL: REPO,
      project: project(chart, ['stunner', 'media']),
    });
    expect(synthErrors(chart).join('\n')).toMatch(
      /destination namespace \(unset\) matches none of project "stunner"'s destinations \(stunner, media\).*set destinationNamespace/,
    );
  });

  it('passes with a namespace the project allows, or with a project that allows every namespace', () => {
    for (const [namespaces, destinationNamespace] of [
      [['stunner', 'media'], 'stunner'],
      [['*'], undefined],
      [['stun*'], 'stunner'],
    ] as const) {
      const chart = newChart();
      new ArgoApplicationSet(chart, 'stunner', {
        generator: ClusterGenerator.matchingLabels({ 'stunner.l7mp.io/gateway': 'true' }),
        repoURL: REPO,
        project: project(chart, [...namespaces]),
        ...(destinationNamespace && { destinationNamespace }),
      });
      expect(synthErrors(chart)).toEqual([]);
    }
  });
});

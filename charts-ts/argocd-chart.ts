/**
 * The Argo CD objects that sync the clusters (dist/argocd/): an AppProject limited to the
 * clusters, namespaces and kinds the cluster charts render, an ApplicationSet with one
 * Application per labelled cluster that has a directory in git, and the app-of-apps root.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  ArgoApplicationSet,
  ArgoAppOfApps,
  ArgoProject,
  ClusterGenerator,
  deriveSyncOptions,
  type MultiClusterApp,
  resourceKindsOf,
  SyncOption,
} from '../constructs/index.js';
import { GATEWAY_CLUSTER_LABEL, REPO_URL } from './clusters.js';

export interface ArgoCdChartProps extends ChartProps {
  /** The layout whose clusters this chart syncs. */
  readonly layout: MultiClusterApp;
}

export class ArgoCdChart extends Chart {
  constructor(scope: Construct, id: string, props: ArgoCdChartProps) {
    super(scope, id, { namespace: 'argocd', ...props });
    const { layout } = props;
    const project = new ArgoProject(this, 'project', {
      name: 'stunner',
      description: 'STUNner gateways of every cluster, rendered by charts-ts',
      sourceRepos: [REPO_URL],
      destinations: ArgoProject.destinationsFor(
        layout.clusters,
        resourceKindsOf(...layout.clusterApps).namespaces,
      ),
      kindsFrom: layout.clusterApps, // exactly the kinds the charts render
    });
    new ArgoApplicationSet(this, 'stunner', {
      generator: ClusterGenerator.matchingLabels(GATEWAY_CLUSTER_LABEL),
      repoURL: REPO_URL,
      root: layout.repoPath,
      project,
      syncOptions: [...deriveSyncOptions(...layout.clusterApps), SyncOption.FAIL_ON_SHARED_RESOURCE],
    });
    // The root syncs Argo CD objects into Argo CD's own namespace: the `default` project, not `stunner`.
    new ArgoAppOfApps(this, 'root', { repoURL: REPO_URL, path: layout.argocdRepoPath });
  }
}

/**
 * The Argo CD objects that sync the clusters (dist/argocd/): an ApplicationSet with one Application
 * per labelled cluster that has a directory in git, and the app-of-apps root; and, in a file of
 * their own (projects.k8s.yaml), the two AppProjects that bound them. The root syncs every file of
 * dist/argocd/ but that one: the projects are applied by an Argo CD admin, never from git, so that
 * a commit cannot widen them (docs/gitops.md, "Trust model").
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  ArgoApplicationSet,
  ArgoAppOfApps,
  ArgoProject,
  ClusterDestination,
  ClusterGenerator,
  deriveSyncOptions,
  type IArgoProject,
  type MultiClusterApp,
  resourceKindsOf,
  SyncOption,
} from '../constructs/gitops/index.js';
import { GATEWAY_CLUSTER_LABEL, REPO_URL } from './clusters.js';
import { MEDIA_GATEWAY_NAMESPACE } from './media-gateway-chart.js';

/** The chart id of the AppProjects: its file, `projects.k8s.yaml`, is the one the root leaves out. */
export const PROJECTS_CHART = 'projects';

export interface ArgoCdChartProps extends ChartProps {
  /** The layout whose clusters this chart syncs. */
  readonly layout: MultiClusterApp;
}

export type ArgoCdProjectsChartProps = ArgoCdChartProps;

/** The AppProjects, applied by hand (`kubectl apply -n argocd -f dist/argocd/projects.k8s.yaml`). */
export class ArgoCdProjectsChart extends Chart {
  /** The clusters' Applications: only the kinds, namespaces and cluster-scoped names they render. */
  readonly stunner: ArgoProject;
  /** The root's: Applications and ApplicationSets in Argo CD's namespace, nothing cluster-scoped. */
  readonly root: ArgoProject;
  private readonly rootKinds: Construct[] = [];

  constructor(scope: Construct, id: string, props: ArgoCdProjectsChartProps) {
    super(scope, id, { namespace: 'argocd', ...props });
    const { layout } = props;
    this.stunner = new ArgoProject(this, 'project', {
      name: 'stunner',
      description: 'STUNner gateways of every cluster, rendered by charts-ts',
      sourceRepos: [REPO_URL],
      destinations: ArgoProject.destinationsFor(
        layout.clusters,
        resourceKindsOf(...layout.clusterApps).namespaces,
      ),
      kindsFrom: layout.clusterApps, // exactly the kinds (and cluster-scoped names) the charts render
    });
    this.root = new ArgoProject(this, 'root-project', {
      name: 'stunner-root',
      description: 'The app-of-apps root of the stunner project: its Applications and ApplicationSets only',
      sourceRepos: [REPO_URL],
      destinations: [{ destination: ClusterDestination.inCluster(), namespace: 'argocd' }],
      kindsFrom: this.rootKinds, // read at synth: see allowRootKindsOf
    });
  }

  /** The root project allows exactly the kinds under `argocd` (the root and the ApplicationSet). */
  allowRootKindsOf(argocd: Construct): void {
    this.rootKinds.push(argocd);
  }
}

export class ArgoCdChart extends Chart {
  constructor(scope: Construct, id: string, props: ArgoCdChartProps & { readonly project?: IArgoProject }) {
    super(scope, id, { namespace: 'argocd', ...props });
    const { layout } = props;
    const project = props.project ?? ArgoProject.fromName('stunner');
    new ArgoApplicationSet(this, 'stunner', {
      // Argo CD checks an Application's own destination namespace against the project before any
      // object's: every cluster runs the media gateway, so its namespace is allowed everywhere
      destinationNamespace: MEDIA_GATEWAY_NAMESPACE,
      generator: ClusterGenerator.matchingLabels(GATEWAY_CLUSTER_LABEL),
      repoURL: REPO_URL,
      root: layout.repoPath,
      project,
      // Server-side apply for every object: the apiserver then refuses a field its schema does not
      // declare, where Argo CD's client-side apply only warns and drops it (the sync would succeed
      // and stay OutOfSync); and no object carries a last-applied copy of itself.
      syncOptions: [
        ...deriveSyncOptions(...layout.clusterApps),
        SyncOption.SERVER_SIDE_APPLY,
        SyncOption.FAIL_ON_SHARED_RESOURCE,
      ],
    });
    // The root syncs Argo CD objects into Argo CD's own namespace, in a project of its own that
    // allows only those; the projects' file is applied by an admin, never synced.
    new ArgoAppOfApps(this, 'root', {
      repoURL: REPO_URL,
      path: layout.argocdRepoPath,
      project: ArgoProject.fromName('stunner-root'),
      exclude: `${PROJECTS_CHART}.k8s.yaml`,
    });
  }
}

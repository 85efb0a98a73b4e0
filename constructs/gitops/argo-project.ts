/** An Argo CD AppProject: which repositories, destinations and kinds its Applications may use. */
import type { IAppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject';
import { ApiObject, Lazy } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { CLUSTER_SCOPED_KINDS } from '../core/cluster-scoped.js';
import {
  ARGOCD_NAMESPACE,
  type IArgoProject,
  metadataProblems,
  repoUrlProblem,
  where,
} from './argo-common.js';
import type { ClusterDestination, IGitOpsCluster } from './cluster.js';

/** An API group and kind, as AppProject whitelists name them ("" is the core group). */
export interface ResourceKind {
  readonly group: string;
  readonly kind: string;
  /**
   * Only objects of this name (a glob; cluster-scoped kinds, on Argo CD releases that restrict
   * cluster-scoped resources by name). Older releases ignore it and allow every name of the kind.
   * @default every name
   */
  readonly name?: string;
}

/** A destination an AppProject allows: a cluster and a namespace (glob, e.g. `*`). */
export interface ProjectDestination {
  readonly destination: ClusterDestination;
  readonly namespace: string;
}

/** The kinds and namespaces that the ApiObjects under some constructs use. */
export interface ResourceKinds {
  /** Cluster-scoped kinds (Namespace, ClusterRole, ...), sorted. */
  readonly clusterResources: readonly ResourceKind[];
  /** Every cluster-scoped object, by group, kind and name, sorted. */
  readonly clusterObjects: readonly ResourceKind[];
  /** Namespaced kinds, sorted. */
  readonly namespaceResources: readonly ResourceKind[];
  /** Namespaces the namespaced objects live in, sorted. */
  readonly namespaces: readonly string[];
}

/** The kinds and namespaces of every ApiObject under `scopes` (charts, apps, constructs). */
export function resourceKindsOf(...scopes: IConstruct[]): ResourceKinds {
  const cluster = new Map<string, ResourceKind>();
  const clusterObjects = new Map<string, ResourceKind>();
  const namespaced = new Map<string, ResourceKind>();
  const namespaces = new Set<string>();
  for (const scope of scopes) {
    for (const c of scope.node.findAll()) {
      if (!ApiObject.isApiObject(c)) continue;
      const group = c.apiGroup === 'core' ? '' : c.apiGroup;
      const key = `${group}/${c.kind}`;
      if (CLUSTER_SCOPED_KINDS.has(c.kind)) {
        cluster.set(key, { group, kind: c.kind });
        const name = c.metadata.name;
        if (name !== undefined) clusterObjects.set(`${key}/${name}`, { group, kind: c.kind, name });
      } else {
        namespaced.set(key, { group, kind: c.kind });
        if (c.metadata.namespace) namespaces.add(c.metadata.namespace);
      }
    }
  }
  const sorted = (m: Map<string, ResourceKind>) =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k);
  return {
    clusterResources: sorted(cluster),
    clusterObjects: sorted(clusterObjects),
    namespaceResources: sorted(namespaced),
    namespaces: [...namespaces].sort(),
  };
}

export interface ArgoProjectProps {
  /**
   * metadata.name, the name Applications refer to.
   * @default the construct id
   */
  readonly name?: string;
  /**
   * The namespace Argo CD runs in.
   * @default 'argocd'
   */
  readonly namespace?: string;
  /**
   * spec.description.
   * @default none
   */
  readonly description?: string;
  /** Repositories the project's Applications may sync from (URLs or globs). */
  readonly sourceRepos: readonly string[];
  /** Clusters and namespaces the project's Applications may deploy to. */
  readonly destinations: readonly ProjectDestination[];
  /**
   * Cluster-scoped kinds the project's Applications may create.
   * @default none, unless `kindsFrom` is given
   */
  readonly clusterResources?: readonly ResourceKind[];
  /**
   * Namespaced kinds the project's Applications may create.
   * @default every namespaced kind, unless `kindsFrom` is given
   */
  readonly namespaceResources?: readonly ResourceKind[];
  /**
   * Allow exactly the kinds that the ApiObjects under these constructs use (for example every
   * cluster App of a MultiClusterApp), added to `clusterResources` and `namespaceResources`.
   * Evaluated at synth time, so charts added later count.
   * @default none
   */
  readonly kindsFrom?: readonly IConstruct[];
  /**
   * With `kindsFrom`, allow each cluster-scoped kind only under the names rendered (one whitelist
   * entry per object, where Argo CD supports names), so that git cannot add another Namespace or
   * ClusterRole of a whitelisted kind.
   * @default true
   */
  readonly namedClusterResources?: boolean;
}

/** An Argo CD AppProject (argoproj.io/v1alpha1). */
export class ArgoProject extends Construct implements IArgoProject {
  /** A project defined elsewhere (e.g. Argo CD's `default`). */
  static fromName(projectName: string): IArgoProject {
    return { projectName };
  }

  /** One destination per cluster and namespace. */
  static destinationsFor(
    clusters: readonly IGitOpsCluster[],
    namespaces: readonly string[] = ['*'],
  ): ProjectDestination[] {
    return clusters.flatMap((c) =>
      namespaces.map((namespace) => ({ destination: c.destination, namespace })),
    );
  }

  readonly projectName: string;
  readonly namespace: string;
  readonly apiObject: ApiObject;
  readonly destinationNamespaces: readonly string[];

  constructor(scope: Construct, id: string, props: ArgoProjectProps) {
    super(scope, id);
    this.projectName = props.name ?? id;
    this.destinationNamespaces = [...new Set(props.destinations.map((d) => d.namespace))];
    this.namespace = props.namespace ?? ARGOCD_NAMESPACE;
    const whitelists = () => {
      const derived = props.kindsFrom ? resourceKindsOf(...props.kindsFrom) : undefined;
      const merge = (a: readonly ResourceKind[] = [], b: readonly ResourceKind[] = []) => {
        const m = new Map(
          [...a, ...b].map((k) => [
            `${k.group}/${k.kind}/${k.name ?? ''}`,
            { group: k.group, kind: k.kind, ...(k.name !== undefined ? { name: k.name } : {}) },
          ]),
        );
        return [...m.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, k]) => k);
      };
      const namespaced =
        props.namespaceResources === undefined && derived === undefined
          ? undefined
          : merge(props.namespaceResources, derived?.namespaceResources);
      const derivedCluster =
        (props.namedClusterResources ?? true) ? derived?.clusterObjects : derived?.clusterResources;
      return { cluster: merge(props.clusterResources, derivedCluster), namespaced };
    };
    const manifest: IAppProject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: this.projectName, namespace: this.namespace },
      spec: {
        ...(props.description !== undefined && { description: props.description }),
        sourceRepos: [...props.sourceRepos],
        destinations: props.destinations.map((d) => d.destination.toSpec(d.namespace)),
        // Lazy: kindsFrom may gain charts after this construct is created.
        clusterResourceWhitelist: Lazy.any({ produce: () => whitelists().cluster }),
        namespaceResourceWhitelist: Lazy.any({ produce: () => whitelists().namespaced }),
      },
    };
    this.apiObject = new ApiObject(this, 'Resource', manifest);

    this.node.addValidation({
      validate: () => {
        const problems = metadataProblems(this.projectName, this.namespace);
        if (props.sourceRepos.length === 0) problems.push('sourceRepos is empty: no Application could sync');
        for (const r of props.sourceRepos) {
          const p = repoUrlProblem(r);
          if (p) problems.push(p);
        }
        if (props.destinations.length === 0)
          problems.push('destinations is empty: no Application could deploy');
        for (const d of props.destinations) {
          problems.push(...d.destination.problems());
          if (d.namespace === '')
            problems.push(`destination ${d.destination}: namespace must not be empty (use '*')`);
        }
        const { namespaced } = whitelists();
        if (namespaced !== undefined && namespaced.length === 0) {
          problems.push('namespaceResources is empty: the project would allow no namespaced kind');
        }
        return problems.map((p) => where('ArgoProject', this.projectName) + p);
      },
    });
  }
}

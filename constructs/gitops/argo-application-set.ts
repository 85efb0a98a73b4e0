/**
 * An Argo CD ApplicationSet: one Application per cluster, each syncing the cluster's own
 * directory `<root>/<cluster>/`.
 */
import type { IApplicationSet } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { labelProblems } from '../core/naming.js';
import {
  ARGOCD_NAMESPACE,
  type ArgoObjectProps,
  type ArgoSyncPolicyProps,
  applicationProblems,
  projectName,
  renderSyncPolicy,
  repoPathProblem,
  where,
} from './argo-common.js';
import { clusterProblems, type IGitOpsCluster } from './cluster.js';

type Generator = IApplicationSet['spec']['generators'][number];

/** What a generator contributes to the ApplicationSet. */
export interface RenderedClusterGenerator {
  readonly generators: readonly Record<string, unknown>[];
  /** Template expression for the cluster's name in an Application name. */
  readonly appNameSuffix: string;
  /** Template expression for the cluster directory. */
  readonly path: string;
  /** Template for spec.destination (without namespace). */
  readonly destination: { server?: string; name?: string };
  readonly problems: string[];
}

/** Where the generator finds the repository and the cluster directories. */
export interface ClusterGeneratorContext {
  readonly repoURL: string;
  readonly targetRevision: string;
  /** Repository path holding one directory per cluster. */
  readonly root: string;
}

/** Which clusters an ApplicationSet generates Applications for. */
export abstract class ClusterGenerator {
  /**
   * The clusters registered in Argo CD whose labels match (a `clusters` generator), each only when
   * `<root>/<cluster name>/` exists in git (a `git` directory generator), combined by a `matrix`
   * generator. Adding a cluster is then: register it in Argo CD with the labels, and commit its
   * directory. The Argo CD cluster name must equal the directory name (`GitOpsCluster.name`).
   */
  static matchingLabels(matchLabels: Readonly<Record<string, string>>): ClusterGenerator {
    return new LabelGenerator({ ...matchLabels });
  }

  /**
   * A `list` generator with one element per cluster: no cluster Secret labels needed, but every
   * cluster is named in git. All clusters must be addressed the same way (all by server URL or all
   * by Argo CD name).
   */
  static list(clusters: readonly IGitOpsCluster[]): ClusterGenerator {
    return new ListGenerator([...clusters]);
  }

  /** Renders the generators and the template parameters they provide. */
  abstract render(ctx: ClusterGeneratorContext): RenderedClusterGenerator;
}

class LabelGenerator extends ClusterGenerator {
  constructor(private readonly matchLabels: Record<string, string>) {
    super();
  }

  render(ctx: ClusterGeneratorContext): RenderedClusterGenerator {
    const problems = labelProblems(this.matchLabels);
    if (Object.keys(this.matchLabels).length === 0) {
      problems.push('matchingLabels() needs at least one label: an empty selector matches every cluster');
    }
    return {
      generators: [
        {
          matrix: {
            generators: [
              { clusters: { selector: { matchLabels: { ...this.matchLabels } } } },
              {
                git: {
                  repoURL: ctx.repoURL,
                  revision: ctx.targetRevision,
                  // The matrix hands the cluster generator's parameters to this one.
                  directories: [{ path: `${ctx.root}/{{.name}}` }],
                },
              },
            ],
          },
        },
      ],
      appNameSuffix: '{{.nameNormalized}}',
      path: '{{.path.path}}',
      destination: { server: '{{.server}}' },
      problems,
    };
  }
}

class ListGenerator extends ClusterGenerator {
  constructor(private readonly clusters: IGitOpsCluster[]) {
    super();
  }

  render(ctx: ClusterGeneratorContext): RenderedClusterGenerator {
    const problems = this.clusters.flatMap(clusterProblems);
    if (this.clusters.length === 0) problems.push('list() needs at least one cluster');
    const byServer = this.clusters.filter((c) => c.destination.server !== undefined).map((c) => c.name);
    const byName = this.clusters.filter((c) => c.destination.server === undefined).map((c) => c.name);
    if (byServer.length > 0 && byName.length > 0) {
      problems.push(
        `list() clusters must all be addressed by server URL or all by Argo CD name; ` +
          `by server: ${byServer.join(', ')}; by name: ${byName.join(', ')}`,
      );
    }
    const seen = new Set<string>();
    for (const c of this.clusters) {
      if (seen.has(c.name)) problems.push(`list() names cluster "${c.name}" twice`);
      seen.add(c.name);
    }
    const useServer = byName.length === 0;
    return {
      generators: [
        {
          list: {
            elements: this.clusters.map((c) => ({
              cluster: c.name,
              ...(useServer ? { server: c.destination.server } : { destinationName: c.destination.name }),
            })),
          },
        },
      ],
      appNameSuffix: '{{.cluster}}',
      path: `${ctx.root}/{{.cluster}}`,
      destination: useServer ? { server: '{{.server}}' } : { name: '{{.destinationName}}' },
      problems,
    };
  }
}

export interface ArgoApplicationSetProps extends ArgoObjectProps, ArgoSyncPolicyProps {
  /** Which clusters get an Application. */
  readonly generator: ClusterGenerator;
  /** The git repository holding the committed manifests. */
  readonly repoURL: string;
  /**
   * Branch, tag or commit to sync.
   * @default 'main'
   */
  readonly targetRevision?: string;
  /**
   * The repository directory with one directory per cluster.
   * @default 'dist'
   */
  readonly root?: string;
  /**
   * Generated Applications are named `<prefix><cluster>`.
   * @default `${name}-`
   */
  readonly applicationNamePrefix?: string;
  /**
   * Keep the deployed objects when the ApplicationSet (or a cluster's Application) is deleted.
   * @default true: removing a cluster from git does not tear its gateways down by itself
   */
  readonly preserveResourcesOnDeletion?: boolean;
}

/** An Argo CD ApplicationSet (argoproj.io/v1alpha1) with Go templates. */
export class ArgoApplicationSet extends Construct {
  readonly name: string;
  readonly namespace: string;
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: ArgoApplicationSetProps) {
    super(scope, id);
    this.name = props.name ?? id;
    this.namespace = props.namespace ?? ARGOCD_NAMESPACE;
    const root = props.root ?? 'dist';
    const rendered = props.generator.render({
      repoURL: props.repoURL,
      targetRevision: props.targetRevision ?? 'main',
      root,
    });
    const prefix = props.applicationNamePrefix ?? `${this.name}-`;
    const syncPolicy = renderSyncPolicy(props);
    const manifest: IApplicationSet = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'ApplicationSet',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(props.labels && { labels: { ...props.labels } }),
      },
      spec: {
        goTemplate: true,
        goTemplateOptions: ['missingkey=error'],
        generators: rendered.generators as Generator[],
        syncPolicy: { preserveResourcesOnDeletion: props.preserveResourcesOnDeletion ?? true },
        template: {
          metadata: { name: `${prefix}${rendered.appNameSuffix}` },
          spec: {
            project: projectName(props),
            source: {
              repoURL: props.repoURL,
              targetRevision: props.targetRevision ?? 'main',
              path: rendered.path,
            },
            destination: {
              ...rendered.destination,
              ...(props.destinationNamespace !== undefined && { namespace: props.destinationNamespace }),
            },
            ...(Object.keys(syncPolicy).length > 0 && { syncPolicy }),
          },
        },
      },
    };
    this.apiObject = new ApiObject(this, 'Resource', manifest);

    this.node.addValidation({
      validate: () => {
        const problems = applicationProblems(this.name, this.namespace, props, rendered.problems);
        const path = repoPathProblem(root);
        if (path) problems.push(`root ${path}`);
        if (!/^[a-z0-9]([-a-z0-9]*)?$/.test(prefix)) {
          problems.push(`applicationNamePrefix "${prefix}" must be lowercase letters, digits and '-'`);
        }
        return problems.map((p) => where('ArgoApplicationSet', this.name) + p);
      },
    });
  }
}

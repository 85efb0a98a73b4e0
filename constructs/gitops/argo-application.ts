/** An Argo CD Application syncing one directory (or some files of it) of the git repository. */
import type { IApplication } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { chartFileName } from '../core/naming.js';
import { ArgoSyncRegistry } from '../core/registry.js';
import type { SyncWave } from '../core/sync-wave.js';
import {
  ARGOCD_NAMESPACE,
  type ArgoObjectProps,
  type ArgoSyncPolicyProps,
  applicationProblems,
  projectName,
  RESOURCES_FINALIZER,
  renderSyncPolicy,
  repoPathProblem,
  where,
} from './argo-common.js';
import { ClusterDestination } from './cluster.js';

export interface ArgoApplicationProps extends ArgoObjectProps, ArgoSyncPolicyProps {
  /** The git repository holding the committed manifests. */
  readonly repoURL: string;
  /**
   * Branch, tag or commit to sync.
   * @default 'main'
   */
  readonly targetRevision?: string;
  /** Directory in the repository, relative to its root (e.g. `dist/prod`). */
  readonly path: string;
  /**
   * Only the files of `path` matching this glob (e.g. `media-gateway.k8s.yaml`, `{a,b}.k8s.yaml`).
   * @default every file of `path`
   */
  readonly include?: string;
  /**
   * Leave out the files of `path` matching this glob.
   * @default none
   */
  readonly exclude?: string;
  /**
   * Include subdirectories of `path`.
   * @default false
   */
  readonly recurse?: boolean;
  /**
   * The cluster to deploy to.
   * @default ClusterDestination.inCluster()
   */
  readonly destination?: ClusterDestination;
  /**
   * Sync wave of the Application object itself (orders the children of an app-of-apps).
   * @default none (wave 0)
   */
  readonly syncWave?: SyncWave;
  /**
   * Deleting the Application deletes what it deployed (Argo CD's resources finalizer).
   * @default false: deleting the Application leaves the gateways running
   */
  readonly cascadeDelete?: boolean;
}

/** An Argo CD Application (argoproj.io/v1alpha1). */
export class ArgoApplication extends Construct {
  /** metadata.name. */
  readonly name: string;
  readonly namespace: string;
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: ArgoApplicationProps) {
    super(scope, id);
    this.name = props.name ?? id;
    this.namespace = props.namespace ?? ARGOCD_NAMESPACE;
    const destination = props.destination ?? ClusterDestination.inCluster();
    const directory = {
      ...(props.include !== undefined && { include: props.include }),
      ...(props.exclude !== undefined && { exclude: props.exclude }),
      ...(props.recurse && { recurse: true }),
    };
    const syncPolicy = renderSyncPolicy(props);
    const manifest: IApplication = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(props.labels && { labels: { ...props.labels } }),
        ...(props.syncWave && { annotations: props.syncWave.annotation() }),
        ...(props.cascadeDelete && { finalizers: [RESOURCES_FINALIZER] }),
      },
      spec: {
        project: projectName(props),
        source: {
          repoURL: props.repoURL,
          targetRevision: props.targetRevision ?? 'main',
          path: props.path,
          ...(Object.keys(directory).length > 0 && { directory }),
        },
        destination: destination.toSpec(props.destinationNamespace),
        ...(Object.keys(syncPolicy).length > 0 && { syncPolicy }),
      },
    };
    this.apiObject = new ApiObject(this, 'Resource', manifest);
    // The charts of this App are the files this Application syncs (those its include/exclude
    // globs select): constructs that behave differently under Argo CD learn of it here.
    ArgoSyncRegistry.of(this).register(`ArgoApplication "${this.name}"`, (chart) =>
      syncsChartFile(chartFileName(chart), props.include, props.exclude),
    );

    this.node.addValidation({
      validate: () => {
        const problems = applicationProblems(this.name, this.namespace, props, destination.problems());
        const path = repoPathProblem(props.path);
        if (path) problems.push(`path ${path}`);
        for (const [k, glob] of [
          ['include', props.include],
          ['exclude', props.exclude],
        ] as const) {
          if (glob !== undefined && (glob === '' || glob.includes('/'))) {
            problems.push(`${k} "${glob}" must be a non-empty file glob inside path (no '/')`);
          }
        }
        return problems.map((p) => where('ArgoApplication', this.name) + p);
      },
    });
  }
}

export interface ArgoAppOfAppsProps extends Omit<ArgoApplicationProps, 'path' | 'destination'> {
  /**
   * The directory with the Argo CD objects (MultiClusterApp writes them to `dist/argocd`).
   * @default 'dist/argocd'
   */
  readonly path?: string;
  /**
   * The cluster Argo CD runs in: the child Applications are objects of Argo CD's own namespace.
   * @default ClusterDestination.inCluster()
   */
  readonly destination?: ClusterDestination;
}

/**
 * The app-of-apps root: an Application whose source is the directory of Argo CD objects. Apply it
 * once by hand (`kubectl apply -n argocd -f dist/argocd/<chart>.k8s.yaml`); from then on every
 * Application, ApplicationSet and AppProject, this one included, comes from git.
 */
export class ArgoAppOfApps extends ArgoApplication {
  constructor(scope: Construct, id: string, props: ArgoAppOfAppsProps) {
    super(scope, id, {
      ...props,
      path: props.path ?? 'dist/argocd',
      destination: props.destination ?? ClusterDestination.inCluster(),
      destinationNamespace: props.destinationNamespace ?? props.namespace ?? ARGOCD_NAMESPACE,
    });
  }
}

/** Whether an Application with these directory globs syncs `file`. */
export function syncsChartFile(file: string, include?: string, exclude?: string): boolean {
  if (include !== undefined && !globToRegExp(include).test(file)) return false;
  return exclude === undefined || !globToRegExp(exclude).test(file);
}

/** A file glob as Argo CD's directory include/exclude take it: `*`, `?` and `{a,b}`. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  let depth = 0;
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '{') {
      re += '(?:';
      depth++;
    } else if (ch === '}' && depth > 0) {
      re += ')';
      depth--;
    } else if (ch === ',' && depth > 0) re += '|';
    else re += ch.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}${')'.repeat(depth)}$`);
}

/** What Argo CD objects share: their metadata, sync policy props, project references and checks. */
import { dns1123Problem } from '../../contract/checks.js';
import { labelProblems } from '../core/naming.js';
import type { SyncWave } from '../core/sync-wave.js';
import { renderSyncOptions, type SyncOption, syncOptionProblems } from './sync-options.js';

/** The namespace Argo CD watches for Applications, ApplicationSets and AppProjects by default. */
export const ARGOCD_NAMESPACE = 'argocd';

/** Argo CD's cascading-delete finalizer: deleting the Application deletes what it deployed. */
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

/** A reference to an Argo CD AppProject. */
export interface IArgoProject {
  /** The AppProject's metadata.name. */
  readonly projectName: string;
  /**
   * The namespaces its destinations allow (globs), when known: a project imported by name says
   * nothing, and nothing is checked against it.
   */
  readonly destinationNamespaces?: readonly string[];
}

// Argo CD's destination namespace globs: `*` and `?`, `!` negation left to Argo CD
const globToRegExp = (glob: string) =>
  new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

/**
 * Argo CD refuses an Application whose destination namespace (empty when unset) matches none of
 * its project's destinations (InvalidSpecError), before it syncs anything; the objects' own
 * namespaces are checked one by one afterwards.
 */
export function destinationNamespaceProblem(
  props: ArgoSyncPolicyProps & { readonly destinationNamespace?: string },
): string | undefined {
  const allowed = props.project?.destinationNamespaces;
  if (allowed === undefined) return undefined;
  const ns = props.destinationNamespace ?? '';
  if (allowed.some((g) => !g.startsWith('!') && globToRegExp(g).test(ns))) return undefined;
  return (
    `destination namespace ${ns === '' ? '(unset)' : `"${ns}"`} matches none of project ` +
    `"${props.project!.projectName}"'s destinations (${allowed.join(', ')}): Argo CD refuses the ` +
    'Application (InvalidSpecError); set destinationNamespace to one of them'
  );
}

/** Props of every Argo CD object construct. */
export interface ArgoObjectProps {
  /**
   * metadata.name. With label-based resource tracking Argo CD writes an Application's name into a
   * label, so it must be a DNS-1123 label (63 characters at most).
   * @default the construct id
   */
  readonly name?: string;
  /**
   * The namespace Argo CD runs in.
   * @default 'argocd'
   */
  readonly namespace?: string;
  /**
   * Labels on the object.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The sync policy of an Application (or of every Application an ApplicationSet generates). */
export interface ArgoSyncPolicyProps {
  /**
   * Sync automatically when git changes.
   * @default true
   */
  readonly automated?: boolean;
  /**
   * Delete objects that are no longer in git (automated sync only).
   * @default true
   */
  readonly prune?: boolean;
  /**
   * Revert changes made in the cluster (automated sync only).
   * @default true
   */
  readonly selfHeal?: boolean;
  /**
   * Application-level sync options.
   * @default none
   */
  readonly syncOptions?: readonly SyncOption[];
  /**
   * The project the Application belongs to.
   * @default the `default` project
   */
  readonly project?: IArgoProject;
  /**
   * Namespace for objects that do not name one (ours always do).
   * @default none
   */
  readonly destinationNamespace?: string;
}

export interface RenderedSyncPolicy {
  automated?: { prune: boolean; selfHeal: boolean };
  syncOptions?: string[];
}

export function renderSyncPolicy(props: ArgoSyncPolicyProps): RenderedSyncPolicy {
  const options = renderSyncOptions(props.syncOptions ?? []);
  return {
    ...((props.automated ?? true) && {
      automated: { prune: props.prune ?? true, selfHeal: props.selfHeal ?? true },
    }),
    ...(options.length > 0 && { syncOptions: options }),
  };
}

export function projectName(props: ArgoSyncPolicyProps): string {
  return props.project?.projectName ?? 'default';
}

/** Why the sync policy props are inconsistent, or []. */
export function syncPolicyProblems(props: ArgoSyncPolicyProps): string[] {
  const problems = syncOptionProblems(props.syncOptions ?? [], 'application');
  if (props.automated === false && (props.prune !== undefined || props.selfHeal !== undefined)) {
    problems.push('prune and selfHeal act only under automated sync: drop them or set automated: true');
  }
  if (
    props.syncOptions?.some((o) => o.key === 'CreateNamespace') &&
    props.destinationNamespace === undefined
  ) {
    problems.push('CreateNamespace creates the destination namespace, but destinationNamespace is not set');
  }
  if (props.destinationNamespace !== undefined) {
    const p = dns1123Problem(props.destinationNamespace);
    if (p) problems.push(`destinationNamespace ${p}`);
  }
  return problems;
}

/** Why the metadata props are invalid, or []. */
export function metadataProblems(
  name: string,
  namespace: string,
  labels?: Readonly<Record<string, string>>,
): string[] {
  const problems: string[] = [];
  const n = dns1123Problem(name);
  if (n) problems.push(`name ${n}`);
  const ns = dns1123Problem(namespace);
  if (ns) problems.push(`namespace ${ns}`);
  if (labels) problems.push(...labelProblems(labels));
  return problems;
}

/**
 * What an Application (or an ApplicationSet, for the Applications it generates) is checked for
 * alike: its metadata, sync policy and destination namespace, the `destination`'s own problems,
 * and the repoURL.
 */
export function applicationProblems(
  name: string,
  namespace: string,
  props: ArgoObjectProps & ArgoSyncPolicyProps & { readonly repoURL: string },
  destinationProblems: readonly string[],
): string[] {
  const problems = [
    ...metadataProblems(name, namespace, props.labels),
    ...syncPolicyProblems(props),
    ...[destinationNamespaceProblem(props)].filter((p): p is string => p !== undefined),
    ...destinationProblems,
  ];
  const url = repoUrlProblem(props.repoURL);
  if (url) problems.push(url);
  return problems;
}

/**
 * Why a repository path is unusable in git, or undefined: it must be relative to the repository
 * root, without `..` (an absolute or machine path would also differ between two machines' synths).
 */
export function repoPathProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty (use "." for the repository root)';
  if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path)) {
    return `"${path}" is absolute; give the path relative to the repository root (e.g. "dist/prod")`;
  }
  if (path.includes('\\')) return `"${path}" contains '\\'; use '/'`;
  if (path.split('/').includes('..')) return `"${path}" leaves the repository ('..')`;
  return undefined;
}

export function repoUrlProblem(url: string): string | undefined {
  if (url.trim() === '' || /\s/.test(url)) return `repoURL "${url}" must be a non-empty URL without spaces`;
  return undefined;
}

/** `{ [SYNC_WAVE_ANNOTATION]: value }` when a wave is given. */
export function waveAnnotations(wave?: SyncWave): Record<string, string> | undefined {
  return wave ? wave.annotation() : undefined;
}

/** "Kind "name": " prefix for validation messages, so that each says where. */
export function where(kind: string, name: string): string {
  return `${kind} "${name}": `;
}

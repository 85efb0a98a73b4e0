/**
 * Argo CD sync ordering and sync options: the four documented sync waves, and sync options as a
 * typed set (for an Application's syncPolicy, or for one resource's annotation).
 */
import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';

/** Per-resource Argo CD sync wave annotation: lower waves are applied first. */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

/** Per-resource Argo CD sync options annotation. */
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';

/**
 * One of the four sync waves, applied in this order (Argo CD applies lower waves first and waits
 * for each wave to be healthy before the next):
 *
 * 1. `NAMESPACES_AND_RBAC` (-2): Namespaces, ServiceAccounts, Roles, RoleBindings and their
 *    cluster-scoped twins;
 * 2. `CONFIG_AND_SECRETS` (-1): ConfigMaps, Secrets, SealedSecrets, ExternalSecrets, certificates;
 * 3. `GATEWAYS_AND_BACKENDS` (0, Argo CD's default wave): gateways, media servers, Services;
 * 4. `DEMOS_AND_SMOKE_TESTS` (1): demo applications and smoke tests.
 *
 * Every object the constructs of this library render carries its wave explicitly
 * (`SyncWave.forKind`); an object without the annotation lands in wave 3 (Argo CD's default, 0).
 */
export class SyncWave {
  static readonly NAMESPACES_AND_RBAC = new SyncWave(-2, 'namespaces and RBAC');
  static readonly CONFIG_AND_SECRETS = new SyncWave(-1, 'config and secrets');
  static readonly GATEWAYS_AND_BACKENDS = new SyncWave(0, 'gateways and backends');
  static readonly DEMOS_AND_SMOKE_TESTS = new SyncWave(1, 'demos and smoke tests');

  /** The four waves, in the order Argo CD applies them. */
  static readonly ALL: readonly SyncWave[] = [
    SyncWave.NAMESPACES_AND_RBAC,
    SyncWave.CONFIG_AND_SECRETS,
    SyncWave.GATEWAYS_AND_BACKENDS,
    SyncWave.DEMOS_AND_SMOKE_TESTS,
  ];

  /** The documented wave for an object of this kind (see the class comment). */
  static forKind(kind: string, apiGroup = ''): SyncWave {
    if (RBAC_KINDS.has(kind) && !isCrdBacked(apiGroup)) {
      return SyncWave.NAMESPACES_AND_RBAC;
    }
    if (CONFIG_KINDS.has(kind) || (kind === 'Certificate' && apiGroup === 'cert-manager.io'))
      return SyncWave.CONFIG_AND_SECRETS;
    return SyncWave.GATEWAYS_AND_BACKENDS;
  }

  /**
   * Annotates every ApiObject under `scope` (an object, a construct, a chart) with the documented
   * wave of its kind. Objects created later are not annotated: call it on each new object.
   */
  static applyByKind(scope: IConstruct): void {
    for (const c of scope.node.findAll()) {
      if (ApiObject.isApiObject(c)) SyncWave.forKind(c.kind, c.apiGroup).applyTo(c);
    }
  }

  /** The wave an annotation value means (no annotation: Argo CD's default, wave 0). */
  static parse(value: string | undefined): number {
    if (value === undefined || value === '') return 0;
    const n = Number(value);
    if (!Number.isInteger(n)) throw new Error(`"${value}" is not an integer sync wave`);
    return n;
  }

  private constructor(
    /** The wave number Argo CD orders by. */
    readonly wave: number,
    /** What the wave holds, for messages and docs. */
    readonly description: string,
  ) {}

  /** The annotation value, e.g. "-2". */
  get value(): string {
    return String(this.wave);
  }

  /** `{ 'argocd.argoproj.io/sync-wave': value }`, to spread into metadata.annotations. */
  annotation(): Record<string, string> {
    return { [SYNC_WAVE_ANNOTATION]: this.value };
  }

  /** Annotates every ApiObject in `scope` (a chart, or one construct) with this wave. */
  applyTo(scope: IConstruct): void {
    for (const c of scope.node.findAll()) {
      if (ApiObject.isApiObject(c)) c.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, this.value);
    }
  }

  toString(): string {
    return `${this.value} (${this.description})`;
  }
}

const RBAC_KINDS = new Set([
  'Namespace',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
]);
const CONFIG_KINDS = new Set([
  'ConfigMap',
  'Secret',
  'SealedSecret',
  'ExternalSecret',
  'Certificate',
  'NetworkPolicy',
]);

/** Where an option may be used: an Application's syncPolicy, a resource's annotation, or both. */
export type SyncOptionScope = 'application' | 'resource' | 'both';

/**
 * One Argo CD sync option (`Key=value`). The constants are those this library needs; `of()` is the
 * escape hatch for any other.
 */
export class SyncOption {
  /** Create the destination namespace when it does not exist (application level only). */
  static readonly CREATE_NAMESPACE = new SyncOption('CreateNamespace', 'true', 'application');
  /**
   * Server-side apply. The runtime ConfigMap needs it (client-side apply would copy the whole
   * ConfigMap into a 256 KiB-limited annotation); it carries the per-resource annotation already.
   */
  static readonly SERVER_SIDE_APPLY = new SyncOption('ServerSideApply', 'true', 'both');
  /** Skip the dry run for kinds whose CRD may not exist yet (PodMonitor, Certificate, SealedSecret, ...). */
  static readonly SKIP_DRY_RUN_ON_MISSING_RESOURCE = new SyncOption(
    'SkipDryRunOnMissingResource',
    'true',
    'both',
  );
  /** Prune only after every wave has synced and is healthy. */
  static readonly PRUNE_LAST = new SyncOption('PruneLast', 'true', 'both');
  /** Fail the sync when a resource is already managed by another Application (one owner each). */
  static readonly FAIL_ON_SHARED_RESOURCE = new SyncOption('FailOnSharedResource', 'true', 'application');
  /** Apply only the resources that are out of sync (large applications). */
  static readonly APPLY_OUT_OF_SYNC_ONLY = new SyncOption('ApplyOutOfSyncOnly', 'true', 'application');

  /** Any other sync option. */
  static of(key: string, value: string, scope: SyncOptionScope = 'both'): SyncOption {
    return new SyncOption(key, value, scope);
  }

  private constructor(
    readonly key: string,
    readonly value: string,
    readonly scope: SyncOptionScope,
  ) {}

  toString(): string {
    return `${this.key}=${this.value}`;
  }
}

/**
 * Why this set of options is not valid where it is used (`application` or `resource`), or [].
 * A key may appear once; an option must be allowed at that level.
 */
export function syncOptionProblems(
  options: readonly SyncOption[],
  level: 'application' | 'resource',
): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const o of options) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(o.key)) problems.push(`sync option key "${o.key}" is not a word`);
    if (o.value === '' || /[,=\s]/.test(o.value)) {
      problems.push(`sync option ${o.key}: value "${o.value}" must be non-empty without ',', '=' or spaces`);
    }
    if (o.scope !== 'both' && o.scope !== level) {
      problems.push(
        `sync option ${o} is only valid on ${o.scope === 'application' ? 'an Application' : 'a resource'}`,
      );
    }
    const prev = seen.get(o.key);
    if (prev !== undefined && prev !== o.value) {
      problems.push(`sync option ${o.key} is given twice with different values (${prev}, ${o.value})`);
    }
    seen.set(o.key, o.value);
  }
  return problems;
}

/** `Key=value` strings, one per key, sorted by key so that the order never depends on call order. */
export function renderSyncOptions(options: readonly SyncOption[]): string[] {
  const byKey = new Map<string, SyncOption>();
  for (const o of options) byKey.set(o.key, o);
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(String);
}

/** `{ 'argocd.argoproj.io/sync-options': 'A=true,B=true' }` for one resource's metadata.annotations. */
export function syncOptionsAnnotation(...options: SyncOption[]): Record<string, string> {
  const problems = syncOptionProblems(options, 'resource');
  if (problems.length > 0) throw new Error(`syncOptionsAnnotation: ${problems.join('; ')}`);
  return { [SYNC_OPTIONS_ANNOTATION]: renderSyncOptions(options).join(',') };
}

/** API groups served by Kubernetes itself; any other group is CRD-backed. */
const BUILT_IN_GROUPS = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apps',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
]);

/** The API group of an apiVersion ("" for the core group: `v1`). */
export function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** True for API groups that a CRD provides (PodMonitor, Certificate, SealedSecret, ...). */
export function isCrdBacked(apiGroup: string): boolean {
  return !BUILT_IN_GROUPS.has(apiGroup === 'core' ? '' : apiGroup);
}

/**
 * The application-level sync options that what `scopes` render needs: SkipDryRunOnMissingResource
 * when any object is CRD-backed (its CRD may be installed in the same sync, or later). The runtime
 * ConfigMap asks for ServerSideApply itself, by annotation, so it is not added here.
 */
export function deriveSyncOptions(...scopes: IConstruct[]): SyncOption[] {
  for (const scope of scopes) {
    for (const c of scope.node.findAll()) {
      if (ApiObject.isApiObject(c) && isCrdBacked(c.apiGroup))
        return [SyncOption.SKIP_DRY_RUN_ON_MISSING_RESOURCE];
    }
  }
  return [];
}

/**
 * Argo CD sync ordering: the four documented sync waves every rendered object carries (sync
 * options, which only Argo CD's own objects need, are in gitops/sync-options.ts).
 */
import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';

/** Per-resource Argo CD sync wave annotation: lower waves are applied first. */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

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

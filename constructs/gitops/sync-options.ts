/** Argo CD sync options as a typed set: for an Application's syncPolicy, or for one resource's annotation. */
import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { isCrdBacked } from '../core/sync-wave.js';

/** Per-resource Argo CD sync options annotation. */
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';

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

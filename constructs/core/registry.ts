/**
 * Per-app registries: how constructs find each other without scanning the construct tree. Each
 * is keyed by the app's root construct (in a WeakMap), and filled explicitly when constructs are
 * created (the gateways' own registry is gateway/registry.ts).
 */
import type { IConstruct } from 'constructs';

const registries = new WeakMap<IConstruct, Map<string, unknown>>();

/** The registry `key` of the app that `scope` belongs to, created on first use. */
export function appRegistry<T>(scope: IConstruct, key: string, create: () => T): T {
  const root = scope.node.root;
  let byKey = registries.get(root);
  if (byKey === undefined) {
    byKey = new Map();
    registries.set(root, byKey);
  }
  if (!byKey.has(key)) byKey.set(key, create());
  return byKey.get(key) as T;
}

interface SyncedBy {
  /** Who syncs, for messages: e.g. `ArgoApplication "media"` or `MultiClusterApp cluster "eu-west"`. */
  readonly by: string;
  readonly syncs: (chart: IConstruct) => boolean;
}

interface WaitingChart {
  readonly chart: IConstruct;
  readonly notify: (by: string) => void;
}

/**
 * Which charts of one app Argo CD syncs. A `MultiClusterApp` registers each cluster's App (Argo CD
 * syncs its whole directory), an `ArgoApplication` the charts of its own App that its source
 * covers. Constructs that should behave differently under Argo CD (inline credentials warn) ask
 * with `whenSynced()`, before or after the registration: nothing scans the app.
 */
export class ArgoSyncRegistry {
  static of(scope: IConstruct): ArgoSyncRegistry {
    return appRegistry(scope, 'stunner-gitops.argo-sync', () => new ArgoSyncRegistry());
  }

  readonly #syncedBy: SyncedBy[] = [];
  readonly #waiting: WaitingChart[] = [];

  private constructor() {}

  /**
   * Records that Argo CD syncs the charts of this app for which `syncs` is true (default: all),
   * and notifies those waiting for them.
   */
  register(by: string, syncs: (chart: IConstruct) => boolean = () => true): void {
    this.#syncedBy.push({ by, syncs });
    const matching = this.#waiting.filter((w) => syncs(w.chart));
    for (const w of matching) this.#waiting.splice(this.#waiting.indexOf(w), 1);
    for (const w of matching) w.notify(by);
  }

  /**
   * Calls `notify` once with who syncs `chart`: now if it is already known, else when the first
   * registration that covers it arrives (or never).
   */
  whenSynced(chart: IConstruct, notify: (by: string) => void): void {
    const found = this.#syncedBy.find((s) => s.syncs(chart));
    if (found !== undefined) notify(found.by);
    else this.#waiting.push({ chart, notify });
  }

  /** Who syncs `chart` (every registration that covers it). */
  syncersOf(chart: IConstruct): string[] {
    return this.#syncedBy.filter((s) => s.syncs(chart)).map((s) => s.by);
  }
}

/**
 * The runtime ConfigMap: the bootstrap (readable) and the gzipped bundle, shared by every gateway,
 * ICE auth service and smoke test of one namespace. In an App it is the only object of its own
 * chart, `stunnerd-runtime-<namespace>`, so cdk8s writes it to its own file: the other chart files
 * stay small and reviewable, and a runtime upgrade rewrites that one file per namespace.
 */
import { Chart } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { appLabels } from '../../contract/labels.js';
import { BOOTSTRAP_FILE, BUNDLE_FILE } from '../../contract/pod-layout.js';
import { renderObject } from '../core/api-object.js';
import { chartFileName } from '../core/naming.js';
import { ArgoSyncRegistry } from '../core/registry.js';
import { SyncWave } from '../core/sync-wave.js';
import { type PackagedRuntime, packagedRuntime } from './packaged-runtime.js';

export const RUNTIME_CONFIGMAP_NAME = 'stunnerd-runtime';
/** Id (and so file name) of the chart holding a namespace's runtime ConfigMap in an App. */
export const RUNTIME_CHART_PREFIX = 'stunnerd-runtime-';

export class RuntimeConfigMap extends Construct {
  /**
   * The runtime ConfigMap of `namespace` for the pods `scope` renders, created on first use: in
   * the chart `stunnerd-runtime-<namespace>` of the App, or in the chart of `scope` when there is
   * no App above it.
   */
  static of(scope: IConstruct, namespace: string): RuntimeConfigMap {
    const root = scope.node.root;
    const standalone = Chart.isChart(root);
    const parent = standalone ? Chart.of(scope) : root;
    const id = standalone ? `StunnerdRuntime-${namespace}` : `${RUNTIME_CHART_PREFIX}${namespace}`;
    let found = parent.node.tryFindChild(id);
    if (found === undefined) {
      found = standalone
        ? new RuntimeConfigMap(parent, id, namespace)
        : new RuntimeConfigMap(new Chart(parent, id, { namespace }), 'ConfigMap', namespace);
    }
    const map = found instanceof RuntimeConfigMap ? found : found.node.tryFindChild('ConfigMap');
    if (!(map instanceof RuntimeConfigMap))
      throw new Error(
        `${parent.node.path || 'the App'} already has a child "${id}" that is not a runtime chart`,
      );
    map.#users.add(Chart.of(scope));
    return map;
  }

  readonly name = RUNTIME_CONFIGMAP_NAME;
  readonly namespace: string;
  /** The shipped runtime, or undefined when it cannot be read (`error` says why). */
  readonly runtime: PackagedRuntime | undefined;
  readonly error: string | undefined;
  /** Bytes Kubernetes counts against its 1 MiB limit: every data and binaryData value. */
  readonly bytes: number;
  /** The charts whose pods mount this ConfigMap. */
  readonly #users = new Set<Chart>();

  private constructor(scope: Construct, id: string, namespace: string) {
    super(scope, id);
    this.namespace = namespace;
    try {
      this.runtime = packagedRuntime();
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    const data = { [BOOTSTRAP_FILE]: this.runtime?.bootstrap ?? '' };
    const binaryData = this.runtime ? { [BUNDLE_FILE]: this.runtime.gzip.toString('base64') } : {};
    this.bytes = Buffer.byteLength(data[BOOTSTRAP_FILE]!) + (this.runtime?.gzip.byteLength ?? 0);
    renderObject(
      this,
      'Resource',
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: this.name,
          namespace,
          labels: appLabels({ name: RUNTIME_CONFIGMAP_NAME, component: 'runtime' }),
          annotations: {
            // Client-side apply would copy the bundle into an annotation, over its 256 KiB limit.
            'argocd.argoproj.io/sync-options': 'ServerSideApply=true',
          },
        },
        data,
        binaryData,
      },
      SyncWave.CONFIG_AND_SECRETS,
    );
    this.node.addValidation({ validate: () => this.#problems() });
  }

  /**
   * Argo CD must sync the runtime's chart file wherever it syncs a chart whose pods mount it, and
   * exactly one Argo CD application may own it: two would fight over the ConfigMap.
   */
  #problems(): string[] {
    const chart = Chart.of(this);
    if (this.#users.size === 1 && this.#users.has(chart)) return []; // no App: it is in the users' chart
    const registry = ArgoSyncRegistry.of(this);
    const owners = registry.syncersOf(chart);
    const file = chartFileName(chart);
    const where = `ConfigMap ${this.namespace}/${this.name} (chart file ${file})`;
    const problems: string[] = [];
    for (const user of this.#users)
      for (const by of registry.syncersOf(user))
        if (!owners.includes(by))
          problems.push(
            `${by} syncs chart ${chartFileName(user)}, whose pods mount ${where}, but not that file: include ${file} in its source`,
          );
    if (owners.length > 1)
      problems.push(`${where} is synced by ${owners.join(' and ')}: let exactly one of them include it`);
    return problems;
  }
}

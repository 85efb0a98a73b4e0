/**
 * The runtime ConfigMap: the bootstrap (readable) and the gzipped bundle. One per namespace and
 * chart, shared by the gateways there, so that a runtime change rewrites one object, not one per
 * gateway.
 */
import { Chart } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { appLabels } from '../../contract/labels.js';
import { BOOTSTRAP_FILE, BUNDLE_FILE } from '../../contract/pod-layout.js';
import { renderObject } from '../core/api-object.js';
import { appRegistry } from '../core/registry.js';
import { SyncWave } from '../core/sync-wave.js';
import { type PackagedRuntime, packagedRuntime } from './packaged-runtime.js';

export const RUNTIME_CONFIGMAP_NAME = 'stunnerd-runtime';

export class RuntimeConfigMap extends Construct {
  /** The namespace's runtime ConfigMap in the chart of `scope`, created on first use. */
  static of(scope: IConstruct, namespace: string): RuntimeConfigMap {
    const chart = Chart.of(scope);
    const id = `StunnerdRuntime-${namespace}`;
    const found = chart.node.tryFindChild(id);
    if (found instanceof RuntimeConfigMap) return found;
    return new RuntimeConfigMap(chart, id, namespace);
  }

  /** Every runtime ConfigMap of the app that `scope` belongs to, in creation order. */
  static #all(scope: IConstruct): RuntimeConfigMap[] {
    return appRegistry(scope, 'stunner-gitops.runtime-config-maps', () => [] as RuntimeConfigMap[]);
  }

  readonly name = RUNTIME_CONFIGMAP_NAME;
  readonly namespace: string;
  /** The shipped runtime, or undefined when it cannot be read (`error` says why). */
  readonly runtime: PackagedRuntime | undefined;
  readonly error: string | undefined;
  /** Bytes Kubernetes counts against its 1 MiB limit: every data and binaryData value. */
  readonly bytes: number;

  private constructor(scope: Construct, id: string, namespace: string) {
    super(scope, id);
    this.namespace = namespace;
    RuntimeConfigMap.#all(this).push(this);
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

  /** One Argo CD application must own the ConfigMap: two charts rendering it would fight over it. */
  #problems(): string[] {
    const chart = Chart.of(this);
    const twin = RuntimeConfigMap.#all(this).find(
      (c) => c !== this && c.namespace === this.namespace && Chart.of(c) !== chart,
    );
    if (twin === undefined) return [];
    return [
      `ConfigMap ${this.namespace}/${this.name} is also rendered by chart ${Chart.of(twin).node.path}: keep the gateways of one namespace in one chart, so that one Argo CD application owns it`,
    ];
  }
}

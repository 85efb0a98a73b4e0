/**
 * The runtime ConfigMap: the bootstrap (readable) and the gzipped bundle. One per namespace and
 * chart, shared by the gateways there, so that a runtime change rewrites one object, not one per
 * gateway.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { LABEL_COMPONENT, LABEL_MANAGED_BY, LABEL_NAME, SYNC_WAVE, WAVE_CONFIG } from '../naming.js';
import { BOOTSTRAP_FILE, BUNDLE_FILE, bootstrapSource, bundleRuntime, type RuntimeBundle } from './bundle.js';

export const RUNTIME_CONFIGMAP_NAME = 'stunnerd-runtime';
const RUNTIME = Symbol.for('stunner-gitops.RuntimeConfigMap');

export class RuntimeConfigMap extends Construct {
  /** The namespace's runtime ConfigMap in the chart of `scope`, created on first use. */
  static of(scope: IConstruct, namespace: string, entry: string): RuntimeConfigMap {
    const chart = Chart.of(scope);
    const id = `StunnerdRuntime-${namespace}`;
    const found = chart.node.tryFindChild(id);
    if (found instanceof RuntimeConfigMap) {
      found.#entries.add(entry);
      return found;
    }
    return new RuntimeConfigMap(chart, id, namespace, entry);
  }

  static isRuntimeConfigMap(x: unknown): x is RuntimeConfigMap {
    return typeof x === 'object' && x !== null && RUNTIME in x;
  }

  readonly name = RUNTIME_CONFIGMAP_NAME;
  readonly namespace: string;
  readonly entry: string;
  /** The bundle, or undefined when it failed to build (`error` says why). */
  readonly bundle: RuntimeBundle | undefined;
  readonly error: string | undefined;
  /** Bytes Kubernetes counts against its 1 MiB limit: every data and binaryData value. */
  readonly bytes: number;
  readonly #entries = new Set<string>();

  private constructor(scope: Construct, id: string, namespace: string, entry: string) {
    super(scope, id);
    Object.defineProperty(this, RUNTIME, { value: true });
    this.namespace = namespace;
    this.entry = entry;
    this.#entries.add(entry);
    const data = { [BOOTSTRAP_FILE]: bootstrapSource() };
    let binaryData: Record<string, string> = {};
    try {
      this.bundle = bundleRuntime(entry);
      binaryData = { [BUNDLE_FILE]: this.bundle.gzip.toString('base64') };
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    this.bytes = Buffer.byteLength(data[BOOTSTRAP_FILE]!) + (this.bundle?.gzip.byteLength ?? 0);
    new ApiObject(this, 'Resource', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: this.name,
        namespace,
        labels: {
          [LABEL_NAME]: RUNTIME_CONFIGMAP_NAME,
          [LABEL_COMPONENT]: 'runtime',
          [LABEL_MANAGED_BY]: 'cdk8s',
        },
        annotations: {
          [SYNC_WAVE]: WAVE_CONFIG,
          // Client-side apply would copy the bundle into an annotation, over its 256 KiB limit.
          'argocd.argoproj.io/sync-options': 'ServerSideApply=true',
        },
      },
      data,
      binaryData,
    });
    this.node.addValidation({ validate: () => this.#problems() });
  }

  #problems(): string[] {
    const problems: string[] = [];
    if (this.#entries.size > 1)
      problems.push(
        `the gateways of namespace "${this.namespace}" in this chart use different runtime entries (${[...this.#entries].join(', ')}); they share one runtime ConfigMap`,
      );
    const chart = Chart.of(this);
    const twins = App.of(this)
      .node.findAll()
      .filter(RuntimeConfigMap.isRuntimeConfigMap)
      .filter((c) => c !== this && c.namespace === this.namespace && Chart.of(c) !== chart);
    if (twins.length > 0)
      problems.push(
        `ConfigMap ${this.namespace}/${this.name} is also rendered by chart ${Chart.of(twins[0]!).node.path}: keep the gateways of one namespace in one chart, so that one Argo CD application owns it`,
      );
    return problems;
  }
}

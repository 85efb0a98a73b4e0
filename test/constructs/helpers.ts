/** Helpers for construct tests: synthesis, offline schema validation, snapshot masking. */
import { gunzipSync } from 'node:zlib';
import * as argo from '@kubernetes-models/argo-cd';
import * as certManager from '@kubernetes-models/cert-manager';
import * as gatewayApi from '@kubernetes-models/gateway-api';
import * as prometheus from '@kubernetes-models/prometheus-operator';
import { Chart, Testing } from 'cdk8s';
import type { IConstruct } from 'constructs';
import * as k8s from 'kubernetes-models';
import { RUNTIME_CHART_PREFIX } from '../../constructs/runtime-bundle/runtime-config-map.js';

export type Manifest = any;

export function newChart(namespace = 'stunner'): Chart {
  return new Chart(Testing.app(), 'test', { namespace });
}

export function synth(chart: Chart): Manifest[] {
  return Testing.synth(chart);
}

/** The chart of the App of `scope` that holds the runtime ConfigMap of `namespace`, if there is one. */
export function runtimeChart(scope: IConstruct, namespace = 'stunner'): Chart | undefined {
  const found = scope.node.root.node.tryFindChild(`${RUNTIME_CHART_PREFIX}${namespace}`);
  return Chart.isChart(found) ? found : undefined;
}

/**
 * The objects of `chart`, then those of the runtime charts of the namespaces it renders into: what
 * Argo CD applies when it syncs the chart's file with the runtime's files, as it must.
 */
export function synthWithRuntime(chart: Chart): Manifest[] {
  const objects = synth(chart);
  const namespaces = new Set<string>(objects.map((o) => o.metadata?.namespace).filter(Boolean));
  for (const ns of namespaces) {
    const runtime = runtimeChart(chart, ns);
    if (runtime !== undefined && runtime !== chart) objects.push(...synth(runtime));
  }
  return objects;
}

/** The validation messages synth fails with, or [] when it succeeds. */
export function synthErrors(chart: Chart): string[] {
  try {
    Testing.synth(chart);
    return [];
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return msg
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter((l) => l !== '');
  }
}

export function find(objects: Manifest[], kind: string, name?: string, namespace?: string): Manifest {
  const found = objects.filter(
    (o) =>
      o.kind === kind &&
      (name === undefined || o.metadata?.name === name) &&
      (namespace === undefined || o.metadata?.namespace === namespace),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${kind} ${namespace ?? ''}/${name ?? '*'}, found ${found.length}`);
  return found[0];
}

/** The dataplane config in a gateway's config ConfigMap. */
export function dataplaneConfig(objects: Manifest[], gateway: string): Manifest {
  return JSON.parse(find(objects, 'ConfigMap', `${gateway}-config`).data['stunnerd.conf']);
}

type ModelClass = (new (data: unknown) => { validate(): void }) & { apiVersion: string; kind: string };

function collectModels(mod: unknown, into: Map<string, ModelClass>, depth = 0): void {
  if (mod === null || (typeof mod !== 'object' && typeof mod !== 'function') || depth > 4) return;
  for (const v of Object.values(mod as Record<string, unknown>)) {
    if (typeof v === 'function') {
      const m = v as Partial<ModelClass>;
      if (typeof m.apiVersion === 'string' && typeof m.kind === 'string')
        into.set(`${m.apiVersion}/${m.kind}`, m as ModelClass);
    } else if (typeof v === 'object') {
      collectModels(v, into, depth + 1);
    }
  }
}

let models: Map<string, ModelClass> | undefined;

/** Every kind the model packages know: Kubernetes, Gateway API, cert-manager, Argo CD, prometheus-operator. */
export function knownModels(): Map<string, ModelClass> {
  if (models === undefined) {
    models = new Map();
    for (const mod of [k8s, gatewayApi, certManager, argo, prometheus]) collectModels(mod, models);
  }
  return models;
}

/** Validates a manifest against its OpenAPI schema; throws with the object and the reasons. */
export function validateManifest(obj: Manifest): void {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const Model = knownModels().get(key);
  const where = `${key} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
  if (Model === undefined) throw new Error(`${where}: no schema for this kind`);
  try {
    new Model(obj).validate();
  } catch (e) {
    throw new Error(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Masks what changes with the runtime's source, so that snapshots track only the constructs. */
export function maskRuntime(objects: Manifest[]): Manifest[] {
  return JSON.parse(JSON.stringify(objects), (key, value) => {
    if (key === 'stunnerd.mjs.gz' && typeof value === 'string') {
      gunzipSync(Buffer.from(value, 'base64')); // must still be a gzip stream
      return '<gzipped runtime bundle>';
    }
    if (key === 'stunner.l7mp.io/runtime-sha256') return '<runtime sha256>';
    return value;
  });
}

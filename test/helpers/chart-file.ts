/**
 * A chart file as Argo CD applies it: with the runtime ConfigMap its pods mount, which cdk8s writes
 * once per namespace to a file of its own next to it (`stunnerd-runtime-<namespace>.k8s.yaml`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RUNTIME_CHART_PREFIX } from '../../constructs/runtime-bundle/runtime-config-map.js';
import { parseManifests } from '../../contract/manifests.js';
import type { Manifest } from '../constructs/helpers.js';

/** The runtime file of `namespace` in the directory `dir`. */
export function runtimeFile(dir: string, namespace: string): string {
  return join(dir, `${RUNTIME_CHART_PREFIX}${namespace}.k8s.yaml`);
}

function parse(file: string): Manifest[] {
  return parseManifests(readFileSync(file, 'utf8'), file);
}

/**
 * The objects of the chart file `file`, then those of the runtime files next to it of the
 * namespaces its objects are in (a namespace without one, e.g. in image mode, adds nothing).
 */
export function loadChartFile(file: string): Manifest[] {
  const objects = parse(file);
  const namespaces = new Set<string>(objects.map((o) => o.metadata?.namespace).filter(Boolean));
  const runtimes = [...namespaces]
    .map((ns) => runtimeFile(dirname(file), ns))
    .filter((f) => basename(f) !== basename(file) && existsSync(f));
  return [...objects, ...runtimes.flatMap(parse)];
}

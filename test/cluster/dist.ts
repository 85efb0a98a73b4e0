/**
 * The committed dist/ of one cluster, in the order Argo CD applies it: sync phase (hooks of
 * PreSync, then the Sync objects, then PostSync hooks), then sync wave, then Argo CD's kind order,
 * then name. Tests apply it in that order, as a sync would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

export const DIST_ROOT = join(import.meta.dirname, '..', '..', 'dist');
export const CRD_DIR = join(import.meta.dirname, '..', '..', '.cluster-build', 'crds');

export type Obj = any;

export interface DistObject {
  readonly file: string;
  readonly obj: Obj;
  readonly phase: 'PreSync' | 'Sync' | 'PostSync';
  readonly wave: number;
}

// Argo CD's kind order within a wave (gitops-engine's sync task ordering)
const KIND_ORDER = [
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
];
const kindRank = (k: string) => {
  const i = KIND_ORDER.indexOf(k);
  return i < 0 ? KIND_ORDER.length : i;
};
const PHASES = { PreSync: 0, Sync: 1, PostSync: 2 } as const;

export function distFiles(cluster: string): string[] {
  return readdirSync(join(DIST_ROOT, cluster))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

export function loadCluster(cluster: string, files = distFiles(cluster)): DistObject[] {
  const out: DistObject[] = [];
  for (const file of files) {
    const text = readFileSync(join(DIST_ROOT, cluster, file), 'utf8');
    out.push(
      ...distObjects(
        file,
        parseAllDocuments(text).map((d) => d.toJS() as Obj),
      ),
    );
  }
  return sortForSync(out);
}

/** Objects of one chart (a dist/ file, or a chart a test synthesized in memory), in sync order. */
export function distObjects(file: string, objs: readonly Obj[]): DistObject[] {
  const out: DistObject[] = [];
  for (const obj of objs) {
    if (!obj) continue;
    const a = obj.metadata?.annotations ?? {};
    const hook = a['argocd.argoproj.io/hook'] as string | undefined;
    const phase = hook === 'PreSync' || hook === 'PostSync' ? hook : 'Sync';
    out.push({ file, obj, phase, wave: Number(a['argocd.argoproj.io/sync-wave'] ?? 0) });
  }
  return sortForSync(out);
}

export function sortForSync(objs: DistObject[]): DistObject[] {
  return [...objs].sort(
    (x, y) =>
      PHASES[x.phase] - PHASES[y.phase] ||
      x.wave - y.wave ||
      kindRank(x.obj.kind) - kindRank(y.obj.kind) ||
      String(x.obj.metadata?.name).localeCompare(String(y.obj.metadata?.name)),
  );
}

export const toYaml = (objs: readonly Obj[]): string => objs.map((o) => `---\n${stringify(o)}`).join('');

export const ref = (o: Obj): string =>
  `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

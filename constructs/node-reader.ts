/**
 * Read access to Nodes for a ServiceAccount: the NodePort fallback of the public-address watchers
 * (the gateway's and the ICE auth service's) reads node ExternalIPs. Nodes are cluster-scoped, so
 * this is a ClusterRole and its binding, named `stunner:<namespace>:<owner>:node-reader`.
 */
import type { Construct } from 'constructs';
import { ClusterScopedObject } from './cluster-scoped.js';
import { SyncWave } from './gitops/sync.js';

export function nodeReaderRbac(
  scope: Construct,
  owner: { readonly namespace: string; readonly name: string; readonly serviceAccountName: string },
  labels: Readonly<Record<string, string>>,
): void {
  const name = `stunner:${owner.namespace}:${owner.name}:node-reader`;
  const metadata = { name, labels: { ...labels } };
  SyncWave.applyByKind(
    new ClusterScopedObject(scope, 'NodeReaderClusterRole', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata,
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }],
    }),
  );
  SyncWave.applyByKind(
    new ClusterScopedObject(scope, 'NodeReaderClusterRoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: owner.serviceAccountName, namespace: owner.namespace }],
    }),
  );
}

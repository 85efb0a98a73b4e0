/**
 * Read access to Nodes for a ServiceAccount: the NodePort fallback of the public-address watchers
 * (the gateway's and the ICE auth service's) reads node ExternalIPs. Nodes are cluster-scoped, so
 * this is a ClusterRole and its binding, named `stunner:<namespace>:<owner>:node-reader`: render
 * it only where the fallback can be used (nodeFallbackNeeded), never by default on every gateway.
 */
import type { Construct } from 'constructs';
import { renderObject } from './api-object.js';

export function nodeReaderRbac(
  scope: Construct,
  owner: { readonly namespace: string; readonly name: string; readonly serviceAccountName: string },
  labels: Readonly<Record<string, string>>,
): void {
  const name = `stunner:${owner.namespace}:${owner.name}:node-reader`;
  const metadata = { name, labels: { ...labels } };
  renderObject(scope, 'NodeReaderClusterRole', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata,
    // The watchers list and watch Nodes (by metadata.name, or all of them): they never GET.
    rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] }],
  });
  renderObject(scope, 'NodeReaderClusterRoleBinding', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ kind: 'ServiceAccount', name: owner.serviceAccountName, namespace: owner.namespace }],
  });
}

/**
 * Whether a watcher can ever fall back to a node's address for these gateways: only for a
 * NodePort Service without a static public address (a static address wins over anything
 * discovered, and a LoadBalancer's own address comes first). The ICE auth service asks this of
 * its gateways before it renders the Node read.
 */
export function nodeFallbackNeeded(
  gateways: readonly { readonly serviceType?: string; readonly publicAddress?: string | undefined }[],
): boolean {
  return gateways.some((g) => g.serviceType === 'NodePort' && g.publicAddress === undefined);
}

/**
 * The gateway's identity and what its in-pod watcher may read: the ServiceAccount, and a Role
 * with its RoleBinding in every namespace the watcher reads (its own: its Service; its routes'
 * backend namespaces: their Services and EndpointSlices). The node-reader ClusterRole is
 * core/node-reader.ts, shared with the ICE auth service.
 */
import { type ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { ownedMetadata, renderObject } from '../core/api-object.js';
import type { GatewaySettings } from './model.js';

/** The gateway's ServiceAccount, at `Resource` (the watcher needs its token). */
export class GatewayServiceAccount extends Construct {
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, m: GatewaySettings) {
    super(scope, id);
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: ownedMetadata(m, m.serviceAccountName),
      automountServiceAccountToken: true,
    });
  }
}

/** The watcher's Role in one namespace, at `Resource`, and its RoleBinding, at `Binding`. */
export class WatcherRbac extends Construct {
  readonly apiObject: ApiObject;
  readonly binding: ApiObject;

  /** `rules`: the Role's rules, read when it renders (routes attached later add to them). */
  constructor(scope: Construct, id: string, m: GatewaySettings, namespace: string, rules: () => object[]) {
    super(scope, id);
    const name = `${m.namespace}-${m.name}-watcher`;
    const metadata = ownedMetadata({ namespace, labels: m.labels }, name);
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: Lazy.any({ produce: rules }),
    });
    this.binding = renderObject(this, 'Binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: m.serviceAccountName, namespace: m.namespace }],
    });
  }
}

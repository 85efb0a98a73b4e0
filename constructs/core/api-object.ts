/**
 * The one way constructs of this library render a Kubernetes object: an ApiObject annotated with
 * the documented sync wave of its kind, with the metadata every object of its owner shares. The
 * kind picks the class: a cluster-scoped kind never carries the chart's namespace, and a
 * NetworkPolicy never renders an empty rule list.
 */
import { ApiObject, type ApiObjectMetadata, type ApiObjectProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { CLUSTER_SCOPED_KINDS, ClusterScopedObject } from './cluster-scoped.js';
import { NetworkPolicyObject } from './network-policy-object.js';
import { SyncWave } from './sync-wave.js';

/** What the objects of one owner (a gateway, a service) share: their namespace and labels. */
export interface ObjectOwner {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** `name` in the owner's namespace, with the owner's labels (copied) and `annotations`. */
export function ownedMetadata(
  owner: ObjectOwner,
  name: string,
  annotations?: ApiObjectMetadata['annotations'],
): ApiObjectMetadata {
  return {
    name,
    namespace: owner.namespace,
    labels: { ...owner.labels },
    ...(annotations !== undefined ? { annotations } : {}),
  };
}

/**
 * An ApiObject at `scope/id`, annotated with `wave`: by default the documented wave of its kind
 * (SyncWave.forKind).
 */
export function renderObject(
  scope: Construct,
  id: string,
  props: ApiObjectProps,
  wave?: SyncWave,
): ApiObject {
  const o = CLUSTER_SCOPED_KINDS.has(props.kind)
    ? new ClusterScopedObject(scope, id, props)
    : props.kind === 'NetworkPolicy'
      ? new NetworkPolicyObject(scope, id, props)
      : new ApiObject(scope, id, props);
  (wave ?? SyncWave.forKind(o.kind, o.apiGroup)).applyTo(o);
  return o;
}

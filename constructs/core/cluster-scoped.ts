/** An ApiObject of a cluster-scoped kind: never carries the chart's namespace. */
import { ApiObject } from 'cdk8s';

export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'IngressClass',
  'ClusterIssuer',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

export class ClusterScopedObject extends ApiObject {
  // biome-ignore lint/suspicious/noExplicitAny: ApiObject.toJson() is typed `any` by cdk8s.
  override toJson(): any {
    const json: { metadata?: { namespace?: string } } = super.toJson();
    if (json.metadata) delete json.metadata.namespace;
    return json;
  }
}

/**
 * A NetworkPolicy ApiObject that renders no empty `ingress` or `egress` list. `policyTypes` already
 * says "deny all" for a direction without rules; an explicit `[]` is dropped by the apiserver when
 * it stores the object, so every server-side apply (an Argo CD sync) would change the spec again
 * and bump its generation: drift that never settles, found on a real apiserver.
 */
import { ApiObject } from 'cdk8s';

export class NetworkPolicyObject extends ApiObject {
  // biome-ignore lint/suspicious/noExplicitAny: ApiObject.toJson() is typed `any` by cdk8s.
  override toJson(): any {
    const json: { spec?: { ingress?: unknown[]; egress?: unknown[] } } = super.toJson();
    const spec = json.spec;
    if (spec?.ingress?.length === 0) delete spec.ingress;
    if (spec?.egress?.length === 0) delete spec.egress;
    return json;
  }
}

/** NetworkPolicy ports (or any plain values), each once, in first-seen order. */
export function uniquePorts<T>(ports: readonly T[]): T[] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const k = JSON.stringify(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

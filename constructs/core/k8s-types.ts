/**
 * Small structural types for the Kubernetes fields the constructs pass through (resources,
 * scheduling, NetworkPolicy peers). They belong to this package, so that no public type refers to
 * a model package, and they are loose enough that objects typed by kubernetes-models or by the
 * `k8s` imports of any cdk8s-plus version are assignable to them.
 */

/** A Service's type. */
export type ServiceType = 'LoadBalancer' | 'NodePort' | 'ClusterIP';

/** A container's image pull policy. */
export type ImagePullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/** A resource quantity: `'500m'`, `'128Mi'`, `2`, or a cdk8s-plus `k8s.Quantity`. */
export type K8sQuantity = string | number | { readonly value: string | number };

/** Kubernetes' ResourceRequirements (container requests and limits). */
export interface K8sResourceRequirements {
  /** @default none */
  readonly requests?: { readonly [resource: string]: K8sQuantity };
  /** @default none */
  readonly limits?: { readonly [resource: string]: K8sQuantity };
}

/** One requirement of a label selector. */
export interface K8sLabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  /** @default none */
  readonly values?: readonly string[];
}

/** Kubernetes' LabelSelector. */
export interface K8sLabelSelector {
  /** @default none */
  readonly matchLabels?: { readonly [key: string]: string };
  /** @default none */
  readonly matchExpressions?: readonly K8sLabelSelectorRequirement[];
}

/** Kubernetes' Toleration. */
export interface K8sToleration {
  /** @default every effect */
  readonly effect?: string;
  /** @default every key (with operator Exists) */
  readonly key?: string;
  /** @default 'Equal' */
  readonly operator?: string;
  /** @default tolerated forever */
  readonly tolerationSeconds?: number;
  /** @default none */
  readonly value?: string;
}

/** Kubernetes' TopologySpreadConstraint. */
export interface K8sTopologySpreadConstraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly whenUnsatisfiable: string;
  /** @default none */
  readonly labelSelector?: K8sLabelSelector;
  /** @default none */
  readonly matchLabelKeys?: readonly string[];
  /** @default Kubernetes' default */
  readonly minDomains?: number;
  /** @default Kubernetes' default */
  readonly nodeAffinityPolicy?: string;
  /** @default Kubernetes' default */
  readonly nodeTaintsPolicy?: string;
}

/**
 * Kubernetes' Affinity. Its parts are passed through to the pod spec unchanged, so they are typed
 * only as objects here: use kubernetes-models or your cdk8s-plus `k8s` types to build them.
 */
export interface K8sAffinity {
  /** @default none */
  readonly nodeAffinity?: object;
  /** @default none */
  readonly podAffinity?: object;
  /** @default none */
  readonly podAntiAffinity?: object;
}

/** Kubernetes' IPBlock (a NetworkPolicy peer by address). */
export interface K8sIpBlock {
  readonly cidr: string;
  /** @default none */
  readonly except?: readonly string[];
}

/** Kubernetes' NetworkPolicyPeer. */
export interface K8sNetworkPolicyPeer {
  /** @default none */
  readonly ipBlock?: K8sIpBlock;
  /** @default none */
  readonly namespaceSelector?: K8sLabelSelector;
  /** @default none */
  readonly podSelector?: K8sLabelSelector;
}

/** Kubernetes' NetworkPolicyPort, with numeric ports. */
export interface K8sNetworkPolicyPort {
  /** @default 'TCP' */
  readonly protocol?: string;
  /** @default every port */
  readonly port?: number;
  /** @default only `port` */
  readonly endPort?: number;
}

/** A quantity as Kubernetes' JSON has it (a cdk8s-plus `k8s.Quantity` unwrapped). */
export function quantityValue(q: K8sQuantity): string | number {
  return typeof q === 'object' ? q.value : q;
}

/** Resource requirements as plain JSON. */
export function plainResources(r: K8sResourceRequirements): {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
} {
  const plain = (m: { readonly [k: string]: K8sQuantity }) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, quantityValue(v)]));
  return {
    ...(r.requests !== undefined ? { requests: plain(r.requests) } : {}),
    ...(r.limits !== undefined ? { limits: plain(r.limits) } : {}),
  };
}

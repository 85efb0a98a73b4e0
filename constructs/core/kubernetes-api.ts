/**
 * Where the Kubernetes API server is, as a pod reaches it: the NetworkPolicy egress rule of every
 * pod that watches the API (the gateway's watcher, the ICE auth service). NetworkPolicies match
 * after the `kubernetes` Service's DNAT on most CNIs, so these are the API server's own addresses
 * and port (e.g. a kubeadm node's IP, port 6443), not the Service's ClusterIP.
 *
 * Resolution: a construct's own prop, else the app's context (MultiClusterApp sets it from each
 * cluster's `kubernetesApi`), else DEFAULT_KUBERNETES_API.
 */

import type { IConstruct } from 'constructs';
import { asCidr, cidrProblem, isPort } from '../../contract/checks.js';
import type { K8sNetworkPolicyPeer } from './k8s-types.js';

export interface KubernetesApiEndpoint {
  /** CIDRs (or single addresses) of the API server, IPv4 or IPv6. */
  readonly cidrs: readonly string[];
  /** Its TCP ports. */
  readonly ports: readonly number[];
}

/**
 * The private address ranges (RFC 1918, RFC 4193), ports 443 and 6443: where the control plane
 * of kubeadm, k3s, EKS and private GKE/AKS clusters is reached from pods. A public control-plane
 * endpoint needs `kubernetesApi` (or the cluster's), with its address.
 */
export const DEFAULT_KUBERNETES_API: KubernetesApiEndpoint = {
  cidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  ports: [443, 6443],
};

/** The construct context key MultiClusterApp sets on each cluster's App. */
export const KUBERNETES_API_CONTEXT = 'stunner-gitops/kubernetes-api';

/** The endpoint for pods under `scope`: `explicit`, else the app's context, else the default. */
export function kubernetesApiOf(scope: IConstruct, explicit?: KubernetesApiEndpoint): KubernetesApiEndpoint {
  if (explicit !== undefined) return explicit;
  const fromContext = scope.node.tryGetContext(KUBERNETES_API_CONTEXT) as KubernetesApiEndpoint | undefined;
  return fromContext ?? DEFAULT_KUBERNETES_API;
}

/** The egress rule: TCP to the API server's addresses and ports only. */
export function kubernetesApiEgress(api: KubernetesApiEndpoint): {
  to: K8sNetworkPolicyPeer[];
  ports: { protocol: string; port: number }[];
} {
  return {
    to: api.cidrs.map((c) => ({ ipBlock: { cidr: asCidr(c) } })),
    ports: api.ports.map((port) => ({ protocol: 'TCP', port })),
  };
}

/** Why an endpoint is unusable, or []. */
export function kubernetesApiProblems(api: KubernetesApiEndpoint, what = 'kubernetesApi'): string[] {
  const problems: string[] = [];
  if (api.cidrs.length === 0) problems.push(`${what}.cidrs is empty: the watcher could not reach the API`);
  if (api.ports.length === 0) problems.push(`${what}.ports is empty: the watcher could not reach the API`);
  for (const c of api.cidrs)
    if (cidrProblem(c)) problems.push(`${what}.cidrs: "${c}" is not an IP address or CIDR prefix`);
  for (const p of api.ports) if (!isPort(p)) problems.push(`${what}.ports: ${p} is not a valid port`);
  return problems;
}

/**
 * What every workload of this library shares: the gateway's pods and the ICE auth service's. One
 * props interface, so that the two take the same names for the same things; each construct
 * documents its own defaults where they differ. Public: its declarations name no model package.
 */

import type { IConstruct } from 'constructs';
import type { LogFormat } from '../../contract/defaults.js';
import type {
  ImagePullPolicy,
  K8sAffinity,
  K8sResourceRequirements,
  K8sToleration,
  K8sTopologySpreadConstraint,
} from './k8s-types.js';
import { type KubernetesApiEndpoint, kubernetesApiOf } from './kubernetes-api.js';

/** Where a workload's pods may be scheduled; every field is passed through to the pod spec. */
export interface SchedulingProps {
  /**
   * @default none
   */
  readonly topologySpreadConstraints?: readonly K8sTopologySpreadConstraint[];
  /**
   * @default none
   */
  readonly tolerations?: readonly K8sToleration[];
  /**
   * @default none
   */
  readonly affinity?: K8sAffinity;
  /**
   * @default none
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
}

/** The props a StunnerGateway and an IceAuthService share. */
export interface WorkloadProps extends SchedulingProps {
  /**
   * Names the Deployment, Service and ServiceAccount.
   * @default see each construct
   */
  readonly name?: string;
  /**
   * @default the chart's namespace, or "default"
   */
  readonly namespace?: string;
  /**
   * Extra labels on every object.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Fixed replica count.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Container resources.
   * @default see each construct
   */
  readonly resources?: K8sResourceRequirements;
  /**
   * @default 'IfNotPresent'
   */
  readonly imagePullPolicy?: ImagePullPolicy;
  /**
   * Log levels, `scope:LEVEL,...`.
   * @default 'all:INFO'
   */
  readonly logLevel?: string;
  /**
   * Log lines: `text`, or `json` (one object per line with time, level, component, message and
   * fields) for log pipelines.
   * @default 'text'
   */
  readonly logFormat?: LogFormat;
  /**
   * Synthesize the workload's NetworkPolicy.
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * Where the Kubernetes API server is (its own addresses and ports, as pods reach it after the
   * `kubernetes` Service's DNAT), for the NetworkPolicy egress rule of the watcher.
   * @default the app's (MultiClusterApp: the cluster's `kubernetesApi`), else
   * DEFAULT_KUBERNETES_API: the private ranges 10/8, 172.16/12, 192.168/16 and fc00::/7, TCP 443
   * and 6443
   */
  readonly kubernetesApi?: KubernetesApiEndpoint;
  /**
   * @deprecated use `kubernetesApi`; these CIDRs on TCP 443 and 6443.
   * @default see `kubernetesApi`
   */
  readonly kubernetesApiCidrs?: readonly string[];
  /**
   * Cluster DNS domain of Service names.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
  /**
   * Public address (IP or DNS name) clients reach the gateways at, when known in advance.
   * @default discovered at run time
   */
  readonly publicAddress?: string;
  /**
   * Public-address fallback to a node's ExternalIP plus the NodePort: the pods may read every
   * Node (a ClusterRole and its binding).
   * @default see each construct
   */
  readonly nodeAddressDiscovery?: boolean;
}

/** The Kubernetes API endpoint for a workload: `kubernetesApi`, the deprecated CIDRs, the app's, or the default. */
export function workloadKubernetesApi(scope: IConstruct, p: WorkloadProps): KubernetesApiEndpoint {
  const legacy =
    p.kubernetesApi === undefined && p.kubernetesApiCidrs !== undefined
      ? { cidrs: p.kubernetesApiCidrs, ports: [443, 6443] }
      : undefined;
  return kubernetesApiOf(scope, p.kubernetesApi ?? legacy);
}

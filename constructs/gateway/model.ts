/**
 * The resolved view of a gateway: its props with every default applied, its listeners and the
 * plans of its routes. The resource constructs render from it and validation reads it; neither
 * reads the props.
 */
import type { LogFormat } from '../../contract/defaults.js';
import type { ObjectOwner } from '../core/api-object.js';
import type {
  ImagePullPolicy,
  K8sNetworkPolicyPeer,
  K8sResourceRequirements,
  ServiceType,
} from '../core/k8s-types.js';
import type { KubernetesApiEndpoint } from '../core/kubernetes-api.js';
import type { SchedulingProps } from '../core/workload.js';
import type { GatewayRuntime } from '../runtime-bundle/gateway-runtime.js';
import type { GatewayListener } from './listener.js';
import type { TurnAuth } from './turn-auth.js';
import type { ListenerProtocol, RoutePlan } from './types.js';

export interface ListenerModel {
  readonly name: string;
  readonly protocol: ListenerProtocol;
  /** Service port. */
  readonly port: number;
  /** Port the runtime binds in the pod. */
  readonly targetPort: number;
  readonly nodePort: number | undefined;
  readonly tlsSecret: string | undefined;
  readonly minRelayPort: number | undefined;
  readonly maxRelayPort: number | undefined;
}

/** The gateway's NetworkPolicy, when it renders one. */
export interface NetworkPolicyModel {
  readonly kubernetesApi: KubernetesApiEndpoint;
  /** Who may scrape the metrics port. */
  readonly metricsFrom: readonly K8sNetworkPolicyPeer[];
  /** Who may reach the health port; undefined: anyone (a load balancer's checks). */
  readonly healthFrom: readonly K8sNetworkPolicyPeer[] | undefined;
}

/** Autoscaling with its defaults applied. */
export interface AutoscalingModel {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuUtilization: number;
}

export interface GatewayModel extends ObjectOwner {
  readonly name: string;
  readonly namespace: string;
  /** Every object's labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** The labels that select the pods. */
  readonly selectorLabels: Readonly<Record<string, string>>;
  readonly serviceName: string;
  readonly serviceAccountName: string;
  readonly configMapName: string;
  readonly credentialsSecretName: string;
  readonly auth: TurnAuth | undefined;
  readonly allowWeakCredentials: boolean;
  readonly runtime: GatewayRuntime;
  readonly maxRuntimeConfigMapBytes: number;

  // The dataplane config.
  readonly realm: string;
  readonly authType: 'static' | 'ephemeral';
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly userQuota: number;
  readonly maxAllocations: number;
  readonly clientQuota: number;
  readonly maxConnectionsPerIp: number;
  readonly newConnectionsPerIp: number;
  readonly authFailuresPerIp: number;
  readonly relayThreads: number;
  readonly healthPort: number;
  /** Undefined when metrics are off. */
  readonly metricsPort: number | undefined;
  readonly publicAddress: string | undefined;
  /** The listeners as declared (a certificate's tlsSecret filled in), for validation. */
  readonly declaredListeners: readonly GatewayListener[];
  readonly listeners: readonly ListenerModel[];
  readonly routes: readonly RoutePlan[];
  /** Inline credentials, for synth-time validation only: never rendered into the config. */
  readonly inlineCredentials: Readonly<Record<string, string>> | undefined;

  // The workload.
  /** Undefined with autoscaling. */
  readonly replicas: number | undefined;
  readonly autoscaling: AutoscalingModel | undefined;
  /** The PodDisruptionBudget's maxUnavailable; false: no budget. */
  readonly maxUnavailable: number | string | false;
  readonly resources: K8sResourceRequirements | undefined;
  readonly imagePullPolicy: ImagePullPolicy;
  readonly terminationGracePeriodSeconds: number;
  readonly preStopDelaySeconds: number;
  readonly scheduling: SchedulingProps;
  /** The watcher may fall back to a node's address (STUNNER_NODENAME, the node-reader RBAC). */
  readonly nodeAddressDiscovery: boolean;

  // The Service.
  readonly serviceType: ServiceType;
  readonly serviceAnnotations: Readonly<Record<string, string>> | undefined;
  readonly sessionAffinity: 'ClientIP' | 'None';
  readonly externalTrafficPolicy: 'Cluster' | 'Local' | undefined;
  readonly exposeHealthCheckPort: boolean;
  readonly mixedProtocolLoadBalancer: boolean;

  /** Undefined when the gateway renders no NetworkPolicy. */
  readonly networkPolicy: NetworkPolicyModel | undefined;
  readonly podMonitor: boolean;
  readonly grafanaDashboard: boolean;
}

/** What does not change after the gateway is constructed: all but its listeners and routes. */
export type GatewaySettings = Omit<GatewayModel, 'declaredListeners' | 'listeners' | 'routes'>;

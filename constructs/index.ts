/**
 * The public construct API: the gateway library (`stunner-gitops`). The demos are the `/demos`
 * subpath (demos/index.ts), the Argo CD constructs the `/gitops` subpath (gitops/index.ts), the
 * dataplane config contract and the pod layout the `/config` subpath (contract/index.ts);
 * renderers, models and the gateway-route protocol here are internal.
 *
 * @module stunner-gitops
 */

export type {
  ImagePullPolicy,
  K8sAffinity,
  K8sIpBlock,
  K8sLabelSelector,
  K8sLabelSelectorRequirement,
  K8sNetworkPolicyPeer,
  K8sNetworkPolicyPort,
  K8sQuantity,
  K8sResourceRequirements,
  K8sToleration,
  K8sTopologySpreadConstraint,
  ServiceType,
} from './core/k8s-types.js';
export { DEFAULT_KUBERNETES_API, type KubernetesApiEndpoint } from './core/kubernetes-api.js';
export {
  DefaultDenyPolicy,
  type DefaultDenyPolicyProps,
  type PodSecurityLevel,
  podSecurityLabels,
} from './core/namespace-security.js';
export { POD_SECURITY_EXCEPTIONS, type PodSecurityException } from './core/pod-security-exceptions.js';
export {
  ExternalSecret,
  type ExternalSecretApiVersion,
  type ExternalSecretProps,
  existingSecret,
  type ISecretSource,
  missingSecretKeys,
  type RemoteRef,
  SealedSecret,
  type SealedSecretProps,
  type SealingScope,
  SecretKeys,
  type SecretSourceProps,
  SecretStoreRef,
} from './core/secrets.js';
export { SYNC_WAVE_ANNOTATION, SyncWave } from './core/sync-wave.js';
export { WARNING_METADATA_TYPE, Warnings } from './core/warnings.js';
export type { SchedulingProps, WorkloadProps } from './core/workload.js';
export type { GatewayListener, ListenerCertificate } from './gateway/listener.js';
export {
  type BackendPorts,
  type IServiceConstruct,
  MediaRoute,
  type MediaRouteProps,
  type RouteBackend,
  type RouteParent,
  type ServiceBackend,
  type ServiceReference,
  type StaticBackend,
} from './gateway/media-route.js';
export {
  GrafanaDashboardConfigMap,
  type GrafanaDashboardProps,
  METRICS_SCRAPER_NAMESPACE,
  StunnerPodMonitor,
  type StunnerPodMonitorProps,
} from './gateway/monitoring.js';
export type { GatewayAutoscaling, StunnerGatewayProps } from './gateway/props.js';
export { StunnerGateway } from './gateway/stunner-gateway.js';
export { type SecretReference, TurnAuth } from './gateway/turn-auth.js';
export type { IMediaRoute, IStunnerGateway, ListenerPorts, ListenerProtocol } from './gateway/types.js';
export { IceAuthService, type IceAuthServiceProps } from './ice/ice-auth-service.js';
export {
  type BundleRuntimeOptions,
  GatewayRuntime,
  type RuntimeImageRecord,
} from './runtime-bundle/gateway-runtime.js';

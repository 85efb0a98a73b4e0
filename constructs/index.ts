/**
 * The public construct API. The dataplane config contract and the pod layout are in the
 * `/config` subpath (contract/index.ts); renderers and models here are internal.
 */

export * from './demos/index.js';
export type { GatewayListener, ListenerCertificate } from './gateway-listener.js';
export { type BundleRuntimeOptions, GatewayRuntime } from './gateway-runtime.js';
export * from './gitops/index.js';
export { IceAuthService, type IceAuthServiceProps } from './ice-auth-service.js';
export type {
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
} from './k8s-types.js';
export {
  DEFAULT_KUBERNETES_API,
  type KubernetesApiEndpoint,
} from './kubernetes-api.js';
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
} from './media-route.js';
export {
  GrafanaDashboardConfigMap,
  type GrafanaDashboardProps,
  METRICS_SCRAPER_NAMESPACE,
  StunnerPodMonitor,
  type StunnerPodMonitorProps,
} from './monitoring.js';
export {
  DefaultDenyPolicy,
  type DefaultDenyPolicyProps,
  type PodSecurityLevel,
  podSecurityLabels,
} from './namespace-security.js';
export { POD_SECURITY_EXCEPTIONS, type PodSecurityException } from './pod-security-exceptions.js';
export {
  type GatewayAutoscaling,
  StunnerGateway,
  type StunnerGatewayProps,
} from './stunner-gateway.js';
export { type SecretReference, TurnAuth } from './turn-auth.js';
export type {
  IMediaRoute,
  IStunnerGateway,
  ListenerPorts,
  ListenerProtocol,
  RouteCluster,
  RoutePeer,
  RoutePlan,
} from './types.js';
export { WARNING_METADATA_TYPE, Warnings } from './warnings.js';

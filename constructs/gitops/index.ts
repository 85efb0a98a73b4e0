/** GitOps with Argo CD: Argo CD objects, the multi-cluster layout, sync waves, sealed/external secrets. */
export {
  ArgoApplication,
  type ArgoApplicationProps,
  ArgoAppOfApps,
  type ArgoAppOfAppsProps,
} from './argo-application.js';
export {
  ArgoApplicationSet,
  type ArgoApplicationSetProps,
  ClusterGenerator,
  type ClusterGeneratorContext,
  type RenderedClusterGenerator,
} from './argo-application-set.js';
export {
  ARGOCD_NAMESPACE,
  type ArgoObjectProps,
  type ArgoSyncPolicyProps,
  type IArgoProject,
} from './argo-common.js';
export {
  ArgoProject,
  type ArgoProjectProps,
  type ProjectDestination,
  type ResourceKind,
  type ResourceKinds,
  resourceKindsOf,
} from './argo-project.js';
export {
  ClusterDestination,
  GitOpsCluster,
  type GitOpsClusterProps,
  type IGitOpsCluster,
  IN_CLUSTER_SERVER,
} from './cluster.js';
export { type ClusterChartFactory, MultiClusterApp, type MultiClusterAppProps } from './layout.js';
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
} from './secrets.js';
export {
  GatewaySmokeTest,
  type GatewaySmokeTestProps,
  HOOK_ANNOTATION,
  HOOK_DELETE_POLICY_ANNOTATION,
} from './smoke-test.js';
export {
  deriveSyncOptions,
  SYNC_OPTIONS_ANNOTATION,
  SYNC_WAVE_ANNOTATION,
  SyncOption,
  type SyncOptionScope,
  SyncWave,
  syncOptionsAnnotation,
} from './sync.js';

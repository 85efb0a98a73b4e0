/**
 * `stunner-gitops/gitops`: GitOps with Argo CD: Argo CD objects, the multi-cluster layout, sync
 * options and the gateway smoke test. Sync waves and the secret sources (SealedSecret,
 * ExternalSecret) are in the root export: every object the gateway renders carries a wave.
 *
 * @module stunner-gitops/gitops
 */

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
  GatewaySmokeTest,
  type GatewaySmokeTestProps,
  HOOK_ANNOTATION,
  HOOK_DELETE_POLICY_ANNOTATION,
} from './smoke-test.js';
export {
  deriveSyncOptions,
  SYNC_OPTIONS_ANNOTATION,
  SyncOption,
  type SyncOptionScope,
  syncOptionsAnnotation,
} from './sync-options.js';

/** GitOps with Argo CD: Argo CD objects, the multi-cluster layout, sync waves, sealed/external secrets. */
export * from './argo-application.js';
export * from './argo-application-set.js';
export {
  ARGOCD_NAMESPACE,
  type ArgoObjectProps,
  type ArgoSyncPolicyProps,
  type IArgoProject,
  RESOURCES_FINALIZER,
} from './argo-common.js';
export * from './argo-project.js';
export * from './cluster.js';
export * from './layout.js';
export * from './secrets.js';
export * from './sync.js';

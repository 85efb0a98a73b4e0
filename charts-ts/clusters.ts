/** The clusters the repository deploys to: each renders into dist/<name>/ and gets one Application. */
import { ClusterDestination, GitOpsCluster } from '../constructs/gitops/index.js';

/** The git repository Argo CD syncs from. */
export const REPO_URL = 'https://git.example.com/media/stunner-gitops.git';

/** Argo CD cluster label the ApplicationSet selects clusters by. */
export const GATEWAY_CLUSTER_LABEL = { 'stunner.l7mp.io/gateway': 'true' };

export const EU_WEST = new GitOpsCluster({
  name: 'eu-west',
  labels: { ...GATEWAY_CLUSTER_LABEL, region: 'eu' },
  destination: ClusterDestination.byServer('https://eu-west.k8s.example.com:6443'),
  publicAddresses: ['198.51.100.10'],
  // The control-plane nodes' subnet and port, as pods reach the API server: the only egress of the watchers.
  kubernetesApi: { cidrs: ['10.10.0.0/28'], ports: [6443] },
});

export const US_EAST = new GitOpsCluster({
  name: 'us-east',
  labels: { ...GATEWAY_CLUSTER_LABEL, region: 'us' },
  destination: ClusterDestination.byServer('https://us-east.k8s.example.com:6443'),
  publicAddresses: ['203.0.113.20'],
  kubernetesApi: { cidrs: ['10.20.0.0/28'], ports: [6443] },
});

export const CLUSTERS = [EU_WEST, US_EAST];

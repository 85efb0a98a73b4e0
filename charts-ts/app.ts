/**
 * The app that `npm run synth` renders into dist/: one directory per cluster
 * (dist/<cluster>/<chart>.k8s.yaml) and dist/argocd/ with the Argo CD objects that sync them.
 */
import { MultiClusterApp, type MultiClusterAppProps } from '../constructs/gitops/index.js';
import { ArgoCdChart, ArgoCdProjectsChart, PROJECTS_CHART } from './argocd-chart.js';
import { CloudRetroChart } from './cloudretro-chart.js';
import { CLUSTERS, EU_WEST, US_EAST } from './clusters.js';
import { JanusChart, SimpleTunnelChart } from './demo-charts.js';
import { DirectCallChart } from './direct-call-chart.js';
import { MediaGatewayChart } from './media-gateway-chart.js';
import { MediasoupChart } from './mediasoup-chart.js';
import { TurnTlsChart } from './turn-tls-chart.js';

/** Per-cluster props of the media gateway: the same chart class, each cluster's own values. */
const MEDIA_GATEWAY = {
  'eu-west': { secretStore: 'vault-eu', replicas: 2 },
  'us-east': { secretStore: 'aws-secrets-manager', replicas: 1 },
} as const;

export function createLayout(props: Omit<MultiClusterAppProps, 'clusters'> = {}): MultiClusterApp {
  const layout = new MultiClusterApp({ ...props, clusters: CLUSTERS });
  let cloudRetro: CloudRetroChart | undefined; // eu-west's, the primary: rendered first
  layout.addCharts((scope, cluster) => {
    const media = MEDIA_GATEWAY[cluster.name as keyof typeof MEDIA_GATEWAY];
    new MediaGatewayChart(scope, 'media-gateway', { cluster, ...media });
    // The demos run in one cluster only: a cluster may run charts the others do not.
    if (cluster === EU_WEST) {
      new DirectCallChart(scope, 'direct-call');
      new SimpleTunnelChart(scope, 'simple-tunnel');
      new JanusChart(scope, 'janus');
      new MediasoupChart(scope, 'mediasoup');
      cloudRetro = new CloudRetroChart(scope, 'cloudretro');
      new TurnTlsChart(scope, 'turn-tls', { cluster });
    }
    // CloudRetro spans both: coordinator in eu-west, workers and a gateway in each.
    if (cluster === US_EAST) new CloudRetroChart(scope, 'cloudretro', { primary: cloudRetro!.demo });
  });
  // the projects first: the ApplicationSet is checked against the project it names
  const projects = new ArgoCdProjectsChart(layout.argocd, PROJECTS_CHART, { layout });
  projects.allowRootKindsOf(new ArgoCdChart(layout.argocd, 'argocd', { layout, project: projects.stunner }));
  return layout;
}

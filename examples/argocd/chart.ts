/**
 * Argo CD for one cluster, without the multi-cluster layout of charts-ts/: the media chart
 * (`media.k8s.yaml`: a gateway, its route and a PostSync smoke test), the runtime its pods mount
 * (`stunnerd-runtime-stunner.k8s.yaml`, written by the library next to it) and the Argo CD chart
 * (`argocd.k8s.yaml`: the AppProject that bounds what the Application may create, and the
 * Application that syncs the two other files from git). The project is applied by an Argo CD admin
 * (`kubectl apply -n argocd -f dist/argocd.k8s.yaml`); from then on a commit is a deployment.
 * In your project, import from 'stunner-gitops' and 'stunner-gitops/gitops' instead of the
 * relative paths.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  ArgoApplication,
  ArgoProject,
  ClusterDestination,
  deriveSyncOptions,
  GatewaySmokeTest,
  SyncOption,
} from '../../constructs/gitops/index.js';
import { MediaRoute, StunnerGateway, TurnAuth } from '../../constructs/index.js';

/** The git repository Argo CD syncs from: this project, with `dist/` committed. */
export const REPO_URL = 'https://git.example.com/media/gitops.git';
const MEDIA_NAMESPACE = 'stunner';

/**
 * What runs in the cluster: `dist/media.k8s.yaml`, and the namespace's runtime ConfigMap in
 * `dist/stunnerd-runtime-stunner.k8s.yaml`.
 */
export class MediaChart extends Chart {
  readonly gateway: StunnerGateway;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: MEDIA_NAMESPACE, ...props });
    this.gateway = new StunnerGateway(this, 'udp-gateway', {
      // the Secret is created out of band (or a SealedSecret / ExternalSecret of this chart)
      auth: TurnAuth.fromSecret('stunner-auth'),
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
    });
    new MediaRoute(this, 'media', { parents: [this.gateway] }).addService(
      { name: 'media-server', namespace: 'media' },
      { port: 10000, endPort: 20000 },
    );
    // The smoke test relays between two allocations of its own, which a headless route admits:
    // the gateway pods, on their relay port range only.
    new MediaRoute(this, 'smoke-loop', { parents: [this.gateway], headless: true });
    // A PostSync hook: a commit that breaks media (a wrong route, credentials, a listener) ends
    // its sync Failed, naming the step (401, 403, no relay, loss).
    new GatewaySmokeTest(this, 'smoke-test', { gateway: this.gateway });
  }
}

export interface ArgoCdChartProps extends ChartProps {
  /** The chart the Application syncs. */
  readonly media: MediaChart;
}

/** The Argo CD objects: `dist/argocd.k8s.yaml`. */
export class ArgoCdChart extends Chart {
  constructor(scope: Construct, id: string, props: ArgoCdChartProps) {
    super(scope, id, { namespace: 'argocd', ...props });
    const project = new ArgoProject(this, 'project', {
      name: 'media',
      sourceRepos: [REPO_URL],
      destinations: [{ destination: ClusterDestination.inCluster(), namespace: MEDIA_NAMESPACE }],
      // exactly the kinds (and cluster-scoped names) the media chart renders, read at synth time
      kindsFrom: [props.media],
    });
    new ArgoApplication(this, 'media', {
      repoURL: REPO_URL,
      path: 'dist',
      // the chart and the runtime ConfigMap its pods mount, in a file of its own (synth fails
      // when an Application syncs a chart without its runtime)
      include: `{media,stunnerd-runtime-${MEDIA_NAMESPACE}}.k8s.yaml`,
      project,
      destinationNamespace: MEDIA_NAMESPACE,
      automated: true,
      prune: true,
      selfHeal: true,
      // Server-side apply for every object: the runtime ConfigMap is too large for client-side
      // apply's last-applied annotation (it asks for it itself), and the apiserver then refuses a
      // field its schema does not declare. deriveSyncOptions adds what the rendered kinds need.
      syncOptions: [...deriveSyncOptions(props.media), SyncOption.SERVER_SIDE_APPLY],
    });
  }
}

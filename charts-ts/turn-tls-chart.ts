/**
 * A TURN-TLS gateway (TURN over TLS on 443, for clients behind firewalls that pass only HTTPS-like
 * traffic) beside a TURN-UDP listener, in front of the media servers of namespace `media`. Its
 * certificate comes from cert-manager: a Certificate of the cluster's issuer writes the
 * `kubernetes.io/tls` Secret the pod injects into its config at start, so no key is in git.
 * The tools are tested on this rendering (test/tools/tls/committed-dist.test.ts).
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import type { IGitOpsCluster } from '../constructs/gitops/index.js';
import { MediaRoute, StunnerGateway, TurnAuth } from '../constructs/index.js';

export interface TurnTlsChartProps extends ChartProps {
  /**
   * The cluster this copy renders for: its first public address is the listeners' public address.
   * @default none: the gateway learns its address from its Service status
   */
  readonly cluster?: IGitOpsCluster;
  /**
   * The cert-manager ClusterIssuer that signs the TLS listener's certificate.
   * @default 'letsencrypt-prod'
   */
  readonly clusterIssuer?: string;
  /**
   * The DNS name clients reach the TLS listener at: the certificate's name, which a client verifies.
   * @default 'turn.example.org'
   */
  readonly dnsName?: string;
}

/** The TURN-TLS gateway's namespace. */
export const TURN_TLS_NAMESPACE = 'turn-tls';

export class TurnTlsChart extends Chart {
  readonly gateway: StunnerGateway;
  readonly route: MediaRoute;

  constructor(scope: Construct, id: string, props: TurnTlsChartProps = {}) {
    super(scope, id, { namespace: TURN_TLS_NAMESPACE, ...props });
    this.gateway = new StunnerGateway(this, 'tls-gateway', {
      createNamespace: true,
      realm: 'stunner.l7mp.io',
      // Holds `username` and `password`; created out of band.
      auth: TurnAuth.fromSecret('stunner-auth'),
      // UDP and TCP behind one LoadBalancer Service (MixedProtocolLBService, GA in Kubernetes 1.26).
      mixedProtocolLoadBalancer: true,
      publicAddress: props.cluster?.publicAddresses[0],
      listeners: [
        { name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 },
        {
          name: 'tls-listener',
          protocol: 'TURN-TLS',
          port: 443,
          certificate: {
            issuer: props.clusterIssuer ?? 'letsencrypt-prod',
            dnsNames: [props.dnsName ?? 'turn.example.org'],
          },
        },
      ],
    });
    this.route = new MediaRoute(this, 'media-plane', {
      parents: [this.gateway],
      backends: [
        {
          service: { name: 'media-server', namespace: 'media', selector: { app: 'media-server' } },
          port: 10000,
          endPort: 20000,
        },
      ],
    });
  }
}

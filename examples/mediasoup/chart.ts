/**
 * Example: the mediasoup demo behind a STUNner-style gateway (STUNner's mediasoup tutorial,
 * operator-free). Browsers reach the SFU's media ports only through the TURN-UDP gateway; the
 * route admits exactly the SFU pods' RTC port range.
 */
import { Chart, type ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { MediaRoute, StunnerGateway, TurnAuth } from '../../constructs/index.js';

export interface MediasoupChartProps extends ChartProps {
  /**
   * Demo image.
   * @default 'docker.io/l7mp/mediasoup-demo-docker:latest' (as in STUNner's tutorial)
   */
  readonly image?: string;
}

export class MediasoupChart extends Chart {
  readonly gateway: StunnerGateway;
  readonly route: MediaRoute;
  readonly service: kplus.Service;

  constructor(scope: Construct, id: string, props: MediasoupChartProps = {}) {
    super(scope, id, { namespace: 'mediasoup', ...props });

    const sfu = new kplus.Deployment(this, 'mediasoup-server', {
      metadata: { name: 'mediasoup-server' },
      replicas: 1,
      containers: [
        {
          name: 'mediasoup',
          image: props.image ?? 'docker.io/l7mp/mediasoup-demo-docker:latest',
          portNumber: 443,
          envVariables: {
            PROTOO_LISTEN_PORT: kplus.EnvValue.fromValue('443'),
            // The SFU announces its pod IP: the gateway relays to it inside the cluster.
            MEDIASOUP_ANNOUNCED_IP: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_IP),
            MEDIASOUP_LISTEN_IP: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_IP),
            MEDIASOUP_MIN_PORT: kplus.EnvValue.fromValue('40000'),
            MEDIASOUP_MAX_PORT: kplus.EnvValue.fromValue('49999'),
          },
          securityContext: { ensureNonRoot: false, readOnlyRootFilesystem: false },
        },
      ],
    });
    this.service = new kplus.Service(this, 'mediasoup-service', {
      metadata: { name: 'mediasoup-server' },
      selector: sfu,
      ports: [{ name: 'https', port: 443, protocol: kplus.Protocol.TCP }],
    });

    this.gateway = new StunnerGateway(this, 'udp-gateway', {
      realm: 'stunner.l7mp.io',
      // Create it out of band, e.g.:
      //   kubectl -n mediasoup create secret generic stunner-auth \
      //     --from-literal=username=... --from-literal=password=...
      auth: TurnAuth.fromSecret('stunner-auth'),
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
    });
    this.route = new MediaRoute(this, 'mediasoup-media', { parents: [this.gateway] }).addService(
      this.service,
      {
        port: 40000,
        endPort: 49999,
      },
    );
  }
}

/**
 * A media plane behind one TURN-UDP gateway: clients reach the media servers of namespace
 * `media` only through the gateway, and only on the media port range.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { MediaRoute, StunnerGateway, TurnAuth } from '../constructs/index.js';

export class MediaGatewayChart extends Chart {
  readonly gateway: StunnerGateway;
  readonly route: MediaRoute;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'stunner', ...props });
    this.gateway = new StunnerGateway(this, 'udp-gateway', {
      createNamespace: true,
      realm: 'stunner.l7mp.io',
      // Created out of band (sealed-secrets, external-secrets, ...): no credentials in git.
      auth: TurnAuth.fromSecret('stunner-auth'),
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
      externalTrafficPolicy: 'Local',
    });
    this.route = new MediaRoute(this, 'media-plane', {
      parents: [this.gateway],
      backends: [{ service: { name: 'media-server', namespace: 'media' }, port: 10000, endPort: 20000 }],
    });
  }
}

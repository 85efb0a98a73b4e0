/**
 * Direct one-to-one calls (STUNner's headless demo): clients relay to each other through a
 * TURN-UDP and a TURN-TCP gateway, with ephemeral (TURN REST API) credentials that the ICE auth
 * service mints for the application server (`GET /ice`).
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { IceAuthService, MediaRoute, StunnerGateway, TurnAuth } from '../constructs/index.js';

export class DirectCallChart extends Chart {
  readonly udpGateway: StunnerGateway;
  readonly tcpGateway: StunnerGateway;
  readonly route: MediaRoute;
  readonly auth: IceAuthService;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'direct-call', ...props });
    // Holds `secret`, the TURN REST API shared secret; created out of band.
    const common = { auth: TurnAuth.ephemeral('stunner-auth-secret') };
    this.udpGateway = new StunnerGateway(this, 'udp-gateway', {
      ...common,
      createNamespace: true,
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
    });
    this.tcpGateway = new StunnerGateway(this, 'tcp-gateway', {
      ...common,
      listeners: [{ name: 'tcp-listener', protocol: 'TURN-TCP', port: 3478 }],
    });
    this.route = new MediaRoute(this, 'stunner-headless', {
      parents: [this.udpGateway, this.tcpGateway],
      headless: true,
    });
    this.auth = new IceAuthService(this, 'stunner-auth', { gateways: [this.udpGateway, this.tcpGateway] });
  }
}

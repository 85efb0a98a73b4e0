/**
 * Direct one-to-one calls (STUNner's headless demo): the DirectOne2OneCall construct, i.e. a
 * TURN-UDP and a TURN-TCP gateway, a headless route, the ICE auth service minting ephemeral (TURN
 * REST API) credentials, and the signaling application server that serves the page. Tutorial:
 * examples/direct-one2one-call/README.md.
 *
 * Each gateway gets a PostSync smoke test: the headless route lets two allocations of the test
 * relay to each other, so a sync fails when either gateway cannot relay media.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { DirectOne2OneCall } from '../constructs/demos/index.js';
import { GatewaySmokeTest } from '../constructs/gitops/index.js';
import { TurnAuth } from '../constructs/index.js';

export class DirectCallChart extends Chart {
  readonly demo: DirectOne2OneCall;
  readonly smokeTests: readonly GatewaySmokeTest[];

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'direct-call', ...props });
    // Holds `secret`, the TURN REST API shared secret; created out of band.
    this.demo = new DirectOne2OneCall(this, 'demo', { auth: TurnAuth.ephemeral('stunner-auth-secret') });
    this.smokeTests = [this.demo.udpGateway, this.demo.tcpGateway].map(
      (gateway) => new GatewaySmokeTest(this, `${gateway.gatewayName}-smoke-test`, { gateway }),
    );
  }
}

/**
 * The other demos, each in its own namespace and file: the simple tunnel (check an install with
 * turncat) and Janus behind the gateway (the media-plane model). Tutorials:
 * examples/simple-tunnel/README.md and examples/janus/README.md.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { JanusDemo, SimpleTunnel } from '../constructs/demos/index.js';
import { TurnAuth } from '../constructs/index.js';

export class SimpleTunnelChart extends Chart {
  readonly demo: SimpleTunnel;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'simple-tunnel', ...props });
    // Holds `username` and `password`; created out of band.
    this.demo = new SimpleTunnel(this, 'demo', { auth: TurnAuth.fromSecret('stunner-auth') });
  }
}

export class JanusChart extends Chart {
  readonly demo: JanusDemo;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'janus', ...props });
    // Holds `secret`, the TURN REST API shared secret; created out of band.
    this.demo = new JanusDemo(this, 'demo', { auth: TurnAuth.ephemeral('stunner-auth-secret') });
  }
}

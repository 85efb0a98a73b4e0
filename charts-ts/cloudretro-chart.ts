/**
 * CloudRetro across two clusters (STUNner's cloud-gaming demo): the primary (eu-west) runs the
 * coordinator, workers and a gateway; the secondary (us-east) runs workers and a gateway. The
 * coordinator's cloudretro-ice step asks both clusters' ICE auth services for the gateways'
 * addresses and ephemeral credentials. Tutorial: examples/cloudretro/README.md.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { CloudRetroDemo } from '../constructs/demos/index.js';
import { TurnAuth } from '../constructs/index.js';

/** The coordinator's load balancer address (a DNS name for its reserved IP), which us-east's workers use. */
export const CLOUDRETRO_COORDINATOR = 'cloudretro.eu-west.example.com';
/** Where eu-west's ICE step reaches us-east's ICE auth service (an internal load balancer's name). */
export const CLOUDRETRO_US_EAST_ICE_AUTH = 'http://stunner-auth.cloudretro.us-east.internal.example.com:8088';
/**
 * Where eu-west's ICE step comes from as us-east sees it: eu-west's egress addresses behind that
 * internal load balancer (an example range: set your own). Only they may ask us-east's ICE auth
 * service for credentials.
 */
export const CLOUDRETRO_EU_WEST_EGRESS_CIDR = '10.20.0.0/16';

export interface CloudRetroChartProps extends ChartProps {
  /** The primary's demo: makes this chart the secondary. */
  readonly primary?: CloudRetroDemo;
}

export class CloudRetroChart extends Chart {
  readonly demo: CloudRetroDemo;

  constructor(scope: Construct, id: string, props: CloudRetroChartProps = {}) {
    super(scope, id, { namespace: 'cloudretro', ...props });
    // Holds `secret`, the TURN REST API shared secret, the same in both clusters; created out of band.
    const auth = TurnAuth.ephemeral('stunner-auth-secret');
    this.demo =
      props.primary === undefined
        ? new CloudRetroDemo(this, 'demo', { auth, coordinatorAddress: CLOUDRETRO_COORDINATOR })
        : new CloudRetroDemo(this, 'demo', {
            auth,
            primary: props.primary,
            iceAuthUrl: CLOUDRETRO_US_EAST_ICE_AUTH,
            iceAuthClients: [{ ipBlock: { cidr: CLOUDRETRO_EU_WEST_EGRESS_CIDR } }],
          });
  }
}

/**
 * The mediasoup demo (STUNner's mediasoup tutorial): the mediasoup demo server behind a TURN-UDP
 * gateway, an ICE auth service minting ephemeral credentials, and our landing server that sends
 * browsers to the mediasoup client with fresh ones. Tutorial: examples/mediasoup/README.md.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { MediasoupDemo } from '../constructs/demos/index.js';
import { TurnAuth } from '../constructs/index.js';

/** The host browsers open: nip.io resolves it to the ingress controller's address (a reserved IP). */
export const MEDIASOUP_HOST = 'mediasoup-198.51.100.80.nip.io';

export class MediasoupChart extends Chart {
  readonly demo: MediasoupDemo;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'mediasoup', ...props });
    this.demo = new MediasoupDemo(this, 'demo', {
      host: MEDIASOUP_HOST,
      // Holds `secret`, the TURN REST API shared secret; created out of band.
      auth: TurnAuth.ephemeral('stunner-auth-secret'),
      // The cluster's cert-manager already has this ClusterIssuer (see the tutorial to render one).
      tls: { clusterIssuer: 'letsencrypt-prod' },
    });
  }
}

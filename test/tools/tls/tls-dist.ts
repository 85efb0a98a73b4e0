/**
 * A dist/ directory with a TURN-TLS gateway, synthesized from the public constructs as a user's
 * chart would: `stunner/tls-gateway` (TURN-UDP and TURN-TLS, its certificate from cert-manager)
 * and, in a file of its own, the plain `plain/udp-gateway` (TURN-UDP). Every listener is on
 * loopback, routed to one echo peer, so that the gateways can run here as their pods run them.
 */
import { App, Chart } from 'cdk8s';
import { MediaRoute, StunnerGateway, TurnAuth } from '../../../constructs/index.js';

export interface TlsDistPorts {
  readonly udp: number;
  readonly tls: number;
  readonly plain: number;
  readonly tlsHealth: number;
  readonly plainHealth: number;
  /** The echo peer's UDP port on 127.0.0.1: the one backend of both gateways. */
  readonly peer: number;
}

/** The credentials Secret both gateways name (created out of band). */
export const AUTH_SECRET = 'stunner-auth';
/** The Secret cert-manager writes for the TLS listener: `<gateway>-<listener>-tls`. */
export const TLS_SECRET = 'tls-gateway-tls-listener-tls';

/**
 * Writes `tls.k8s.yaml` (unless `tls` is false) and `plain.k8s.yaml` into `outdir`, each with its
 * namespace's runtime file (`stunnerd-runtime-stunner.k8s.yaml`, `stunnerd-runtime-plain.k8s.yaml`).
 */
export function synthTlsDist(outdir: string, ports: TlsDistPorts, tls = true): void {
  const app = new App({ outdir });
  const backend = { cidrs: ['127.0.0.1/32'], port: ports.peer };
  if (tls) {
    const chart = new Chart(app, 'tls', { namespace: 'stunner' });
    const gateway = new StunnerGateway(chart, 'tls-gateway', {
      auth: TurnAuth.fromSecret(AUTH_SECRET),
      publicAddress: '127.0.0.1',
      mixedProtocolLoadBalancer: true,
      healthPort: ports.tlsHealth,
      metrics: false,
      listeners: [
        { name: 'udp-listener', protocol: 'TURN-UDP', port: ports.udp },
        {
          name: 'tls-listener',
          protocol: 'TURN-TLS',
          port: ports.tls,
          certificate: { issuer: 'test-ca', dnsNames: ['localhost'] },
        },
      ],
    });
    new MediaRoute(chart, 'echo', { parents: [gateway], backends: [backend] });
  }
  const chart = new Chart(app, 'plain', { namespace: 'plain' });
  const gateway = new StunnerGateway(chart, 'udp-gateway', {
    auth: TurnAuth.fromSecret(AUTH_SECRET),
    publicAddress: '127.0.0.1',
    healthPort: ports.plainHealth,
    metrics: false,
    listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: ports.plain }],
  });
  new MediaRoute(chart, 'echo', { parents: [gateway], backends: [backend] });
  app.synth();
}

/**
 * Image mode: the gateways run the runtime from a registry image built by `npm run image`,
 * instead of the default bundle mode (the runtime gzipped in a ConfigMap, run by the pinned stock
 * Node.js image). No runtime ConfigMap is rendered, so every object is small enough for
 * client-side apply, and the pods start without unpacking the bundle. The ICE auth service runs the
 * gateways' runtime, so it runs this image too.
 * In your project, import from 'stunner-gitops' instead of the relative path.
 */
import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import {
  GatewayRuntime,
  IceAuthService,
  MediaRoute,
  StunnerGateway,
  TurnAuth,
} from '../../constructs/index.js';

/**
 * The image you built and pushed (`npm run image` in this repository, at the version your project
 * depends on, prints this reference). Pin it by digest: synth warns about an image without one,
 * since a tag can move under a running gateway.
 */
export const RUNTIME_IMAGE =
  'registry.example.com/media/stunnerd:0.1.0@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945';

export interface ImageModeChartProps extends ChartProps {
  /** @default RUNTIME_IMAGE */
  readonly image?: string;
}

export class ImageModeChart extends Chart {
  readonly udp: StunnerGateway;
  readonly tcp: StunnerGateway;

  constructor(scope: Construct, id: string, props: ImageModeChartProps = {}) {
    super(scope, id, { namespace: 'stunner', ...props });
    // One runtime for every gateway of a namespace (and its ICE auth service): synth refuses
    // gateways of one namespace that run different runtimes.
    const runtime = GatewayRuntime.image(props.image ?? RUNTIME_IMAGE);
    const auth = TurnAuth.ephemeral('stunner-auth-secret');
    this.udp = new StunnerGateway(this, 'udp-gateway', {
      runtime,
      auth,
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
      // a private registry: pull with the image's digest, never a moved tag
      imagePullPolicy: 'IfNotPresent',
    });
    this.tcp = new StunnerGateway(this, 'tcp-gateway', {
      runtime,
      auth,
      listeners: [{ name: 'tcp-listener', protocol: 'TURN-TCP', port: 3478 }],
    });
    new MediaRoute(this, 'media', { parents: [this.udp, this.tcp] }).addService(
      { name: 'media-server', namespace: 'media' },
      { port: 10000, endPort: 20000 },
    );
    new IceAuthService(this, 'ice-auth', {
      gateways: [this.udp, this.tcp],
      allowFrom: [{ podSelector: { matchLabels: { app: 'webrtc-server' } } }],
    });
  }
}

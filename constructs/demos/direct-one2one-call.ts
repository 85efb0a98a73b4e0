/**
 * DirectOne2OneCall: STUNner's headless deployment model, a direct one-to-one video call. Two
 * gateways (TURN-UDP and TURN-TCP), a headless route (clients relay to each other through the
 * gateways' pods), the ICE auth service, and our signaling application server, which serves the
 * page and, on each `register`, returns a relay-only ICE configuration from the auth service
 * (refreshed before the credentials expire).
 */
import { Construct } from 'constructs';
import { dns1035Problem } from '../../contract/checks.js';
import { DEFAULT_PORT } from '../../contract/defaults.js';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import type { ServiceType } from '../core/k8s-types.js';
import { chartNamespace } from '../core/naming.js';
import { MediaRoute } from '../gateway/media-route.js';
import { StunnerGateway } from '../gateway/stunner-gateway.js';
import { TurnAuth } from '../gateway/turn-auth.js';
import { IceAuthService } from '../ice/ice-auth-service.js';
import { demoGatewayOptions, demoIceEnv, iceAuthEgress } from './demo-parts.js';
import type { DemoServiceProps } from './demo-props.js';
import { DEMO_NODE_IMAGE, DemoServer, portProblem } from './demo-server.js';

export interface DirectOne2OneCallProps extends DemoServiceProps {
  /**
   * Render the Namespace (with the TURN-UDP gateway).
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * TURN credentials of both gateways; the ICE auth service mints them for the pages.
   * @default TurnAuth.ephemeral('stunner-auth-secret'): a Secret you create, key `secret`
   */
  readonly auth?: TurnAuth;
  /**
   * TURN port of both gateways' Services (one UDP, one TCP).
   * @default 3478
   */
  readonly port?: number;
  /**
   * Address clients reach both gateways at, when it is known up front.
   * @default discovered at run time from each gateway's load balancer
   */
  readonly publicAddress?: string;
  /**
   * Service type of both gateways.
   * @default 'LoadBalancer'
   */
  readonly serviceType?: ServiceType;
  /**
   * Name of the application server's Deployment and Service.
   * @default 'direct-call'
   */
  readonly appName?: string;
  /**
   * Port of the application server's Service (the page and the WebSocket).
   * @default 80
   */
  readonly appPort?: number;
  /**
   * Service type of the application server. The page needs a secure context for the camera:
   * open it through `kubectl port-forward` (http://localhost) or put it behind HTTPS.
   * @default 'ClusterIP'
   */
  readonly appServiceType?: ServiceType;
  /**
   * Image that runs the application server bundle: a mirror of the pinned stock Node.js image.
   * @default the pinned stock Node.js image (NODE_IMAGE)
   */
  readonly appImage?: string;
  /**
   * Lifetime of the TURN credentials the server asks for, in seconds; it asks again at 80%.
   * @default 3600
   */
  readonly iceTtlSeconds?: number;
  /**
   * `/ice` filter: only this gateway's ICE servers (`udp-gateway` or `tcp-gateway`).
   * @default both gateways
   */
  readonly iceGateway?: 'udp-gateway' | 'tcp-gateway';
}

export class DirectOne2OneCall extends Construct {
  readonly namespace: string;
  readonly udpGateway: StunnerGateway;
  readonly tcpGateway: StunnerGateway;
  readonly route: MediaRoute;
  readonly iceAuth: IceAuthService;
  readonly app: DemoServer;
  readonly #props: DirectOne2OneCallProps;

  constructor(scope: Construct, id: string, props: DirectOne2OneCallProps = {}) {
    super(scope, id);
    this.#props = props;
    this.namespace = props.namespace ?? chartNamespace(this);
    const common = {
      namespace: this.namespace,
      auth: props.auth ?? TurnAuth.ephemeral('stunner-auth-secret'),
      ...demoGatewayOptions(props),
    };
    const port = props.port ?? DEFAULT_PORT;
    this.udpGateway = new StunnerGateway(this, 'UdpGateway', {
      ...common,
      name: 'udp-gateway',
      createNamespace: props.createNamespace ?? true,
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port }],
    });
    this.tcpGateway = new StunnerGateway(this, 'TcpGateway', {
      ...common,
      name: 'tcp-gateway',
      listeners: [{ name: 'tcp-listener', protocol: 'TURN-TCP', port }],
    });
    // Headless: the peers are the clients' relay addresses, i.e. the gateways' own pods.
    this.route = new MediaRoute(this, 'Route', {
      name: 'stunner-headless',
      namespace: this.namespace,
      parents: [this.udpGateway, this.tcpGateway],
      headless: true,
    });
    this.iceAuth = new IceAuthService(this, 'IceAuth', {
      namespace: this.namespace,
      gateways: [this.udpGateway, this.tcpGateway],
    });
    const appPort = props.appPort ?? 80;
    const listener = { 'udp-gateway': 'udp-listener', 'tcp-gateway': 'tcp-listener' } as const;
    this.app = new DemoServer(this, 'App', {
      server: 'direct-call',
      name: props.appName ?? 'direct-call',
      namespace: this.namespace,
      ports: [{ name: 'http', port: appPort, containerPort: DEMO_DEFAULTS.webPort, protocol: 'TCP' }],
      env: {
        [DemoEnv.PORT]: String(DEMO_DEFAULTS.webPort),
        ...demoIceEnv(
          this.iceAuth,
          this.namespace,
          props.iceGateway !== undefined
            ? { gateway: props.iceGateway, listener: listener[props.iceGateway] }
            : undefined,
        ),
        [DemoEnv.ICE_TTL_SECONDS]: String(props.iceTtlSeconds ?? DEMO_DEFAULTS.iceTtlSeconds),
      },
      httpProbePort: 'http',
      serviceType: props.appServiceType ?? 'ClusterIP',
      image: props.appImage ?? DEMO_NODE_IMAGE,
      // Browsers open the page and its signaling WebSocket; it asks only the ICE auth service.
      egress: [iceAuthEgress(this.iceAuth)],
    });
    // The page server is the auth service's one caller.
    this.iceAuth.allowClients({ podSelector: { matchLabels: { ...this.app.selectorLabels } } });
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** Pure: reads the props. */
  #validate(): string[] {
    const problems: string[] = [];
    const p = portProblem('appPort', this.#props.appPort ?? 80);
    if (p) problems.push(p);
    const n = dns1035Problem(this.app.name);
    if (n) problems.push(`appName ${n}`);
    const ttl = this.#props.iceTtlSeconds ?? DEMO_DEFAULTS.iceTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > 86400)
      problems.push(`iceTtlSeconds ${ttl} must be a whole number of seconds from 60 to 86400`);
    return problems;
  }
}

/**
 * SimpleTunnel: STUNner's simple-tunnel tutorial as one construct. A UDP greeter (ours, run by
 * the stock Node.js image), a TURN-UDP gateway, and a route that admits only the greeter's
 * Service on the greeter's port: `turncat` reaches the greeter through the gateway, and any other
 * peer gets 403.
 */
import { Construct } from 'constructs';
import { dns1035Problem } from '../../contract/checks.js';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { chartNamespace } from '../core/naming.js';
import { MediaRoute } from '../gateway/media-route.js';
import type { StunnerGateway } from '../gateway/stunner-gateway.js';
import { TurnAuth } from '../gateway/turn-auth.js';
import { demoUdpGateway, gatewayPeer } from './demo-parts.js';
import type { DemoServiceProps } from './demo-props.js';
import { DEMO_NODE_IMAGE, DemoServer, portProblem } from './demo-server.js';

export interface SimpleTunnelProps extends DemoServiceProps {
  /**
   * TURN credentials of the gateway.
   * @default TurnAuth.fromSecret('stunner-auth'): a Secret you create, keys `username` and `password`
   */
  readonly auth?: TurnAuth;
  /**
   * Name of the gateway (Deployment, Service); its listener is `udp-listener`.
   * @default 'udp-gateway'
   */
  readonly gatewayName?: string;
  /**
   * Name of the greeter's Deployment and Service.
   * @default 'udp-greeter'
   */
  readonly greeterName?: string;
  /**
   * The greeter's UDP port: the only peer port the route admits.
   * @default 9001
   */
  readonly greeterPort?: number;
  /**
   * What the greeter puts before every datagram it sends back.
   * @default 'Hello from the udp-greeter:'
   */
  readonly greeting?: string;
  /**
   * Image that runs the greeter bundle: a mirror of the pinned stock Node.js image.
   * @default the pinned stock Node.js image (NODE_IMAGE)
   */
  readonly greeterImage?: string;
}

export class SimpleTunnel extends Construct {
  readonly namespace: string;
  readonly gateway: StunnerGateway;
  readonly greeter: DemoServer;
  readonly route: MediaRoute;
  /** The greeter's UDP port. */
  readonly greeterPort: number;
  readonly #props: SimpleTunnelProps;

  constructor(scope: Construct, id: string, props: SimpleTunnelProps = {}) {
    super(scope, id);
    this.#props = props;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.greeterPort = props.greeterPort ?? DEMO_DEFAULTS.greeterPort;
    this.gateway = demoUdpGateway(this, {
      ...props,
      name: props.gatewayName ?? 'udp-gateway',
      namespace: this.namespace,
      auth: props.auth ?? TurnAuth.fromSecret('stunner-auth'),
    });
    this.greeter = new DemoServer(this, 'Greeter', {
      server: 'udp-greeter',
      name: props.greeterName ?? 'udp-greeter',
      namespace: this.namespace,
      ports: [{ name: 'udp', port: this.greeterPort, containerPort: this.greeterPort, protocol: 'UDP' }],
      env: {
        [DemoEnv.PORT]: String(this.greeterPort),
        [DemoEnv.GREETING]: props.greeting ?? DEMO_DEFAULTS.greeting,
      },
      serviceType: 'ClusterIP',
      image: props.greeterImage ?? DEMO_NODE_IMAGE,
      // Only the gateway relays to it (its answers are replies, which a NetworkPolicy admits).
      ingressFrom: [gatewayPeer(this.gateway)],
      egress: [],
    });
    // Only the greeter's pods (and ClusterIP), only its port.
    this.route = new MediaRoute(this, 'Route', {
      name: this.greeter.name,
      namespace: this.namespace,
      parents: [this.gateway],
    });
    this.route.addService(
      { name: this.greeter.name, namespace: this.namespace, selector: this.greeter.selectorLabels },
      { port: this.greeterPort },
    );
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** Pure: reads the props. */
  #validate(): string[] {
    const problems: string[] = [];
    const p = portProblem('greeterPort', this.greeterPort);
    if (p) problems.push(p);
    const n = dns1035Problem(this.greeter.name);
    if (n) problems.push(`greeterName ${n}`);
    const greeting = this.#props.greeting;
    if (greeting !== undefined && (greeting.length === 0 || greeting.length > 256 || /[\r\n]/.test(greeting)))
      problems.push('greeting must be one line of 1-256 characters');
    return problems;
  }
}

/** What every demo takes: where it renders, and its gateway's credentials, port and runtime. */
import type { ServiceType } from '../core/k8s-types.js';
import type { TurnAuth } from '../gateway/turn-auth.js';
import type { GatewayRuntime } from '../runtime-bundle/gateway-runtime.js';

export interface DemoProps {
  /**
   * Namespace of every object.
   * @default the chart's namespace, or "default"
   */
  readonly namespace?: string;
  /**
   * Render the Namespace (with the gateway).
   * @default true
   */
  readonly createNamespace?: boolean;
  /**
   * TURN credentials of the gateway.
   * @default see each demo: a Secret you create
   */
  readonly auth?: TurnAuth;
  /**
   * TURN-UDP port of the gateway's Service.
   * @default 3478
   */
  readonly port?: number;
  /**
   * Address clients reach the gateway at, when it is known up front.
   * @default discovered at run time from the load balancer
   */
  readonly publicAddress?: string;
  /**
   * @default GatewayRuntime.bundle()
   */
  readonly runtime?: GatewayRuntime;
}

/** A demo whose gateway Service's type may be chosen. */
export interface DemoServiceProps extends DemoProps {
  /**
   * @default 'LoadBalancer'
   */
  readonly serviceType?: ServiceType;
}

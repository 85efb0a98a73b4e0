/**
 * The small interfaces the constructs know each other by. StunnerGateway and MediaRoute import
 * these, never each other: a route needs a gateway's names, namespace, selector and listeners,
 * and registers itself with `_addRoute()`; a gateway asks each attached route for its plan. That
 * protocol is internal: underscored, and left out of the published declarations.
 */
import type { IConstruct } from 'constructs';
import type { ListenerProtocol } from '../../contract/config/types.js';
import type { K8sNetworkPolicyPeer, K8sNetworkPolicyPort, ServiceType } from '../core/k8s-types.js';
import type { GatewayRuntime } from '../runtime-bundle/gateway-runtime.js';
import type { TurnAuth } from './turn-auth.js';

/** A TURN listener protocol (the dataplane config's). */
export type { ListenerProtocol };

/** What routes and the ICE auth service need from a gateway. */
export interface IStunnerGateway extends IConstruct {
  /** Gateway name (Deployment, Service, ServiceAccount); `admin.name` is `namespace/gatewayName`. */
  readonly gatewayName: string;
  readonly namespace: string;
  /** The gateway's Service. */
  readonly serviceName: string;
  /** `<service>.<namespace>.svc.<clusterDomain>`. */
  readonly serviceDnsName: string;
  /** Cluster DNS domain of Service backends. */
  readonly clusterDomain: string;
  /** Labels that select the gateway's pods. */
  readonly selectorLabels: Readonly<Record<string, string>>;
  /** Names of the gateway's listeners, in order. */
  readonly listenerNames: readonly string[];
  /** The gateway's listeners as declared (name, protocol, Service port, the pod's target port). */
  readonly listeners: readonly ListenerPorts[];
  /**
   * The UDP port ranges its pods relay from, `[min, max]` each: every listener's minRelayPort to
   * maxRelayPort, or 32768-60999 (FALLBACK_RELAY_PORT_MIN/MAX) for a listener without a range.
   */
  readonly relayPortRanges: readonly (readonly [number, number])[];
  /** ConfigMap holding the dataplane config. */
  readonly configMapName: string;
  /** Secret the credentials come from (created by the gateway for inline credentials). */
  readonly credentialsSecretName: string;
  /** How clients authenticate (undefined: none given, which fails the gateway's validation). */
  readonly auth: TurnAuth | undefined;
  /** What runs in the gateway's pods. */
  readonly runtime: GatewayRuntime;
  /** The gateway Service's type (the node-address fallback depends on it). */
  readonly serviceType?: ServiceType;
  /** The static public address, when given (it wins over any discovered address). */
  readonly publicAddress?: string;
  /**
   * Calls `bind` with the StunnerGateway this is: itself, or for a gateway imported by name
   * (StunnerGateway.fromGatewayName), that gateway once it exists in the app (before or after).
   * @internal
   */
  _whenBound(bind: (gateway: IStunnerGateway) => void): void;
  /**
   * Attaches a route: its plan is rendered into this gateway. Idempotent.
   * @internal
   */
  _addRoute(route: IMediaRoute): void;
  /**
   * Lets the gateway's watcher read EndpointSlices (backend pod IPs) in `namespace`. Idempotent.
   * @internal
   */
  _watchNamespace(namespace: string, services?: readonly string[]): void;
}

/** What a gateway's listener exposes: `GatewayListener` is assignable (defaults as documented there). */
export interface ListenerPorts {
  readonly name: string;
  /** @default 'TURN-UDP' */
  readonly protocol?: ListenerProtocol;
  /** The Service port. @default 3478 */
  readonly port?: number;
  /** The port the runtime binds in the pod. @default `port` */
  readonly targetPort?: number;
}

/**
 * A dataplane cluster a route renders: the peers one listener may relay to.
 * @internal
 */
export interface RouteCluster {
  readonly name: string;
  readonly type: 'STRICT_DNS' | 'STATIC';
  readonly protocol: 'UDP';
  readonly endpoints: readonly string[];
}

/**
 * A NetworkPolicy peer of the gateway pods, with the peer ports relayed media uses.
 * @internal
 */
export interface RoutePeer {
  readonly peer: K8sNetworkPolicyPeer;
  readonly ports: readonly K8sNetworkPolicyPort[];
}

/**
 * What a route contributes to one gateway.
 * @internal
 */
export interface RoutePlan {
  readonly clusters: readonly RouteCluster[];
  /** Short names of the listeners that route to the clusters; undefined means all of them. */
  readonly listeners: readonly string[] | undefined;
  /** NetworkPolicy peers (and ports) the gateway pods exchange relayed media with. */
  readonly peers: readonly RoutePeer[];
  /**
   * The route relays between the gateway pods' own relay ports (headless): the gateway then
   * renders the fallback relay range on listeners without one, so that the range the route admits
   * and the ports the runtime allocates agree.
   */
  readonly relayLoop?: boolean;
}

/**
 * What a gateway needs from an attached route. A route attaches itself with
 * `IStunnerGateway._addRoute()`, and grants the gateway's watcher the namespaces of its Service
 * backends with `IStunnerGateway._watchNamespace()`.
 */
export interface IMediaRoute extends IConstruct {
  /** The dataplane cluster name, `namespace/route`. */
  readonly clusterName: string;
  /**
   * What the route renders into `gateway`, or undefined when it does not attach to it.
   * @internal
   */
  _planFor(gateway: IStunnerGateway): RoutePlan | undefined;
}

/**
 * What several demos render alike: their TURN-UDP gateway, the ICE settings of a page server, and
 * a media server (its Deployment, its signalling Service, the headless Service and the route that
 * admits it). Internal: the demo constructs use it.
 */
import { type ApiObject, Lazy } from 'cdk8s';
import type { Construct } from 'constructs';
import { DEFAULT_PORT } from '../../contract/defaults.js';
import { DemoEnv } from '../../contract/demo-layout.js';
import { ANNOTATION_POD_SECURITY_EXCEPTION } from '../../contract/labels.js';
import { renderObject } from '../core/api-object.js';
import type { K8sNetworkPolicyPeer, ServiceType } from '../core/k8s-types.js';
import type { PodSecurityLevel } from '../core/namespace-security.js';
import { thirdPartyPodSecurityContext } from '../core/pod-security.js';
import type { PodSecurityException } from '../core/pod-security-exceptions.js';
import { SyncWave } from '../core/sync-wave.js';
import { MediaRoute } from '../gateway/media-route.js';
import { StunnerGateway } from '../gateway/stunner-gateway.js';
import { TurnAuth } from '../gateway/turn-auth.js';
import type { IStunnerGateway } from '../gateway/types.js';
import type { IceAuthService } from '../ice/ice-auth-service.js';
import type { GatewayRuntime } from '../runtime-bundle/gateway-runtime.js';
import type { DemoServiceProps } from './demo-props.js';

/** The gateway props a demo passes on as given. */
export interface DemoGatewayProps {
  readonly publicAddress?: string;
  readonly serviceType?: ServiceType;
  readonly runtime?: GatewayRuntime;
}

/** Only the gateway props that are set. */
export function demoGatewayOptions(props: DemoGatewayProps): DemoGatewayProps {
  return {
    ...(props.publicAddress !== undefined ? { publicAddress: props.publicAddress } : {}),
    ...(props.serviceType !== undefined ? { serviceType: props.serviceType } : {}),
    ...(props.runtime !== undefined ? { runtime: props.runtime } : {}),
  };
}

export interface DemoUdpGatewayProps extends DemoGatewayProps {
  readonly name: string;
  readonly namespace: string;
  readonly createNamespace?: boolean;
  readonly auth: TurnAuth;
  readonly port?: number;
  /** The Pod Security Standard of the rendered Namespace. @default 'restricted' */
  readonly podSecurity?: PodSecurityLevel;
}

/** A demo's one gateway: construct id `Gateway`, a TURN-UDP listener `udp-listener` (3478 unless set). */
export function demoUdpGateway(scope: Construct, props: DemoUdpGatewayProps): StunnerGateway {
  return new StunnerGateway(scope, 'Gateway', {
    name: props.name,
    namespace: props.namespace,
    createNamespace: props.createNamespace ?? true,
    auth: props.auth,
    listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: props.port ?? DEFAULT_PORT }],
    ...(props.podSecurity !== undefined ? { podSecurity: props.podSecurity } : {}),
    ...demoGatewayOptions(props),
  });
}

/**
 * The gateway of a demo around a third-party media server (`udp-gateway`): ephemeral credentials
 * unless given (the demo's ICE auth service mints them), and a `baseline` namespace, since the
 * media server's image runs as root.
 */
export function mediaServerGateway(
  scope: Construct,
  props: DemoServiceProps,
  namespace: string,
): StunnerGateway {
  return demoUdpGateway(scope, {
    ...props,
    name: 'udp-gateway',
    namespace,
    auth: props.auth ?? TurnAuth.ephemeral('stunner-auth-secret'),
    podSecurity: 'baseline',
  });
}

/**
 * A page server's ICE settings: where the ICE auth service answers, for which namespace (and,
 * when given, which gateway and listener), relay-only.
 */
export function demoIceEnv(
  iceAuth: IceAuthService,
  namespace: string,
  only?: { readonly gateway: string; readonly listener: string },
): Record<string, string> {
  return {
    [DemoEnv.ICE_AUTH_URL]: iceAuth.url,
    [DemoEnv.ICE_NAMESPACE]: namespace,
    ...(only !== undefined
      ? { [DemoEnv.ICE_GATEWAY]: only.gateway, [DemoEnv.ICE_LISTENER]: only.listener }
      : {}),
    [DemoEnv.ICE_TRANSPORT_POLICY]: 'relay',
  };
}

/** A port of a media server: the container's named port and the Service port on it. */
export interface MediaServerPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

export interface MediaServerProps {
  readonly namespace: string;
  /** The gateway that relays to it: its route admits the media ports, its relay is reached. */
  readonly gateway: IStunnerGateway;
  /** Labels of every object and of the pods. */
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** Construct ids of the Deployment, the signalling Service and the media Service. */
  readonly ids: { readonly deployment: string; readonly service: string; readonly mediaService: string };
  /** Name of the Deployment and of the signalling Service. */
  readonly name: string;
  /** Name of the headless media Service, and of the route that admits its pods. */
  readonly mediaServiceName: string;
  /** The one container. */
  readonly container: Record<string, unknown>;
  readonly volumes?: readonly Record<string, unknown>[];
  /** The signalling port: an ordinary ClusterIP Service. */
  readonly signalling: MediaServerPort;
  /** Who reaches the signalling port (its NetworkPolicy's first ingress rule). */
  readonly signallingFrom: readonly K8sNetworkPolicyPeer[];
  /**
   * The UDP media port range (named `name` on the container): the route admits exactly it on the
   * pods. Its first port is the headless Service's, so that the Service name resolves to the pods.
   */
  readonly media: { readonly name: string; readonly min: number; readonly max: number };
  /** Why this third-party image runs under `baseline` (its namespace's level), not `restricted`. */
  readonly podSecurityException: PodSecurityException;
}

/**
 * A media server (an image of its own, one replica) behind a gateway: its Deployment, its
 * signalling and headless media Services, its NetworkPolicy (signalling from its callers, media
 * from the gateway, egress to the relay), and the route (construct id `Route`) that admits its
 * media ports.
 */
export function renderMediaServer(scope: Construct, props: MediaServerProps): MediaRoute {
  const { labels, selector, gateway, media } = props;
  const meta = (name: string) => ({ name, namespace: props.namespace, labels: { ...labels } });
  const servicePort = (p: MediaServerPort) => ({
    name: p.name,
    port: p.port,
    targetPort: p.name,
    protocol: p.protocol,
  });
  renderObject(
    scope,
    props.ids.deployment,
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(props.name),
      spec: {
        replicas: 1,
        selector: { matchLabels: { ...selector } },
        template: {
          metadata: {
            labels: { ...labels },
            annotations: { [ANNOTATION_POD_SECURITY_EXCEPTION]: props.podSecurityException },
          },
          spec: {
            enableServiceLinks: false,
            automountServiceAccountToken: false,
            securityContext: thirdPartyPodSecurityContext(),
            containers: [props.container],
            ...(props.volumes !== undefined ? { volumes: [...props.volumes] } : {}),
          },
        },
      },
    },
    SyncWave.DEMOS_AND_SMOKE_TESTS,
  );
  renderObject(
    scope,
    props.ids.service,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(props.name),
      spec: { type: 'ClusterIP', selector: { ...selector }, ports: [servicePort(props.signalling)] },
    },
    SyncWave.DEMOS_AND_SMOKE_TESTS,
  );
  renderObject(
    scope,
    props.ids.mediaService,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(props.mediaServiceName),
      spec: {
        clusterIP: 'None',
        selector: { ...selector },
        ports: [servicePort({ name: media.name, port: media.min, protocol: 'UDP' })],
      },
    },
    SyncWave.DEMOS_AND_SMOKE_TESTS,
  );
  renderDemoNetworkPolicy(scope, `${props.ids.deployment}NetworkPolicy`, {
    name: props.name,
    namespace: props.namespace,
    selector,
    labels,
    ingress: [
      {
        peers: props.signallingFrom,
        ports: [{ protocol: props.signalling.protocol, port: props.signalling.port }],
      },
      { peers: [gatewayPeer(gateway)], ports: [{ protocol: 'UDP', port: media.min, endPort: media.max }] },
    ],
    egress: [relayEgress(gateway)],
  });
  const route = new MediaRoute(scope, 'Route', {
    name: props.mediaServiceName,
    namespace: props.namespace,
    parents: [gateway],
  });
  route.addService(
    { name: props.mediaServiceName, namespace: props.namespace, selector },
    { port: media.min, endPort: media.max },
  );
  return route;
}

/** One port of a NetworkPolicy rule. */
export interface DemoPolicyPort {
  readonly protocol: 'TCP' | 'UDP';
  /** @default every port of the protocol */
  readonly port?: number;
  readonly endPort?: number;
}

/** A rule of a demo workload's NetworkPolicy: peers (none: any address) and ports. */
export interface DemoPolicyRule {
  readonly peers?: readonly K8sNetworkPolicyPeer[];
  readonly ports: readonly DemoPolicyPort[];
}

export interface DemoNetworkPolicyProps {
  readonly name: string;
  readonly namespace: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ingress: readonly DemoPolicyRule[];
  /** A function is called at synth time (peers that are known only then). */
  readonly egress: readonly DemoPolicyRule[] | (() => readonly DemoPolicyRule[]);
}

/**
 * A demo workload's own NetworkPolicy, on top of its namespace's default deny: only these
 * ingress and egress rules (DNS comes from the default deny).
 */
export function renderDemoNetworkPolicy(
  scope: Construct,
  id: string,
  props: DemoNetworkPolicyProps,
): ApiObject {
  const rule = (key: 'from' | 'to', r: DemoPolicyRule) => ({
    ...(r.peers !== undefined ? { [key]: r.peers.map((p) => JSON.parse(JSON.stringify(p))) } : {}),
    ports: r.ports.map((p) => ({ ...p })),
  });
  const policy = renderObject(scope, id, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: props.name, namespace: props.namespace, labels: { ...props.labels } },
    spec: {
      podSelector: { matchLabels: { ...props.selector } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: props.ingress.map((r) => rule('from', r)),
      egress:
        typeof props.egress === 'function'
          ? Lazy.any({
              produce: () => (props.egress as () => readonly DemoPolicyRule[])().map((r) => rule('to', r)),
            })
          : props.egress.map((r) => rule('to', r)),
    },
  });
  return policy;
}

/** The pods of a selector in the policy's own namespace. */
export function podsPeer(selector: Readonly<Record<string, string>>): K8sNetworkPolicyPeer {
  return { podSelector: { matchLabels: { ...selector } } };
}

/** A gateway's pods (in its namespace, which is the demo's). */
export function gatewayPeer(gateway: IStunnerGateway): K8sNetworkPolicyPeer {
  return podsPeer(gateway.selectorLabels);
}

/** Egress to an ICE auth service's pods on its port. */
export function iceAuthEgress(iceAuth: IceAuthService): DemoPolicyRule {
  return { peers: [podsPeer(iceAuth.selectorLabels)], ports: [{ protocol: 'TCP', port: iceAuth.port }] };
}

/**
 * A media server talking to the gateway's relay: UDP to the gateway pods (the relay addresses its
 * ICE candidates name), on any port, since the relay ports are the kernel's unless pinned.
 */
export function relayEgress(gateway: IStunnerGateway): DemoPolicyRule {
  return { peers: [gatewayPeer(gateway)], ports: [{ protocol: 'UDP' }] };
}

/** The namespace of the ingress controller whose pods may reach a demo's Ingress backends. */
export const DEFAULT_INGRESS_CONTROLLER_NAMESPACE = 'ingress-nginx';

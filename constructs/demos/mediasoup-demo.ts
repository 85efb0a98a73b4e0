/**
 * MediasoupDemo: STUNner's mediasoup tutorial without a post-install step. The mediasoup demo
 * server (an image you choose) announces its pod IP and listens on a fixed RTC port range; a
 * TURN-UDP gateway's route admits exactly that range on the mediasoup pods; the ICE auth service
 * mints ephemeral TURN credentials; and our landing server (demo-servers/mediasoup-landing) sends
 * the browser to the mediasoup client with fresh ones, so that no password is in a URL anybody
 * types or commits.
 *
 * Two hosts, one certificate: the browser opens `https://<host>/` (the landing server), which
 * redirects (302, no-store) to `https://<appHost>/?enableIceServer=yes&iceServerHost=...`, the
 * mediasoup app. The app must stay at `/` of a host of its own: its page is `/` and its client
 * opens its WebSocket at `/` of the same host, so no path of that host can be the landing. Each
 * host has its own Ingress (the app's backend speaks HTTPS, the landing's HTTP: nginx reads the
 * backend protocol per Ingress), both with the TLS Secret of one cert-manager Certificate for both
 * names, issued by a ClusterIssuer (ACME HTTP-01) that this construct renders on request.
 */
/*
 * Pod security: the namespace enforces `baseline`, not `restricted`, because the mediasoup demo
 * image runs its server as root (POD_SECURITY_EXCEPTIONS.mediasoup); it still gets RuntimeDefault
 * seccomp, no privilege escalation and no capability but NET_BIND_SERVICE (it binds 443), and
 * every other pod here is `restricted`.
 */
import { Construct } from 'constructs';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { IMAGES, imageRef } from '../../contract/images.js';
import { appLabels, appSelectorLabels, LABEL_NAMESPACE_NAME } from '../../contract/labels.js';
import { renderObject } from '../core/api-object.js';
import { warnUnpinnedImage } from '../core/image-pin.js';
import type { K8sNetworkPolicyPeer } from '../core/k8s-types.js';
import { chartNamespace } from '../core/naming.js';
import { thirdPartyContainerSecurityContext } from '../core/pod-security.js';
import { SyncWave } from '../core/sync-wave.js';
import type { MediaRoute } from '../gateway/media-route.js';
import type { StunnerGateway } from '../gateway/stunner-gateway.js';
import type { TurnAuth } from '../gateway/turn-auth.js';
import { IceAuthService } from '../ice/ice-auth-service.js';
import {
  DEFAULT_INGRESS_CONTROLLER_NAMESPACE,
  demoIceEnv,
  iceAuthEgress,
  mediaServerGateway,
  renderDemoNetworkPolicy,
  renderMediaServer,
} from './demo-parts.js';
import type { DemoServiceProps } from './demo-props.js';
import { DEMO_COMPONENT, DEMO_NODE_IMAGE, DemoServer, demoSelector, portProblem } from './demo-server.js';

/**
 * The image STUNner's mediasoup tutorial uses (contract/images.ts). A moving tag with no published
 * digest: synth warns until you pin one (image).
 */
export const DEFAULT_MEDIASOUP_IMAGE = imageRef(IMAGES.mediasoup);
/** The label cert-manager puts on its HTTP-01 solver pods, and the port they answer on. */
const ACME_SOLVER_LABEL = 'acme.cert-manager.io/http01-solver';
const ACME_SOLVER_PORT = 8089;
/** Let's Encrypt's production ACME directory. */
export const LETSENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';

export interface MediasoupTlsProps {
  /**
   * The cert-manager ClusterIssuer that issues the Certificate of both hosts.
   * @default 'letsencrypt-prod'
   */
  readonly clusterIssuer?: string;
  /**
   * Render that ClusterIssuer (ACME, HTTP-01 through the Ingress class). Needs `email`. Leave it
   * off when the cluster already has one (it is cluster-wide, and one repository should own it).
   * @default false
   */
  readonly createClusterIssuer?: boolean;
  /**
   * The ACME account's e-mail address (expiry notices); required with `createClusterIssuer`.
   * @default none
   */
  readonly email?: string;
  /**
   * ACME directory of the rendered ClusterIssuer.
   * @default Let's Encrypt production
   */
  readonly acmeServer?: string;
  /**
   * The TLS Secret the Certificate writes and both Ingresses serve.
   * @default 'mediasoup-tls'
   */
  readonly secretName?: string;
}

export interface MediasoupDemoProps extends DemoServiceProps {
  /**
   * The host browsers open (the landing server), e.g. `mediasoup-203.0.113.10.nip.io` with the
   * ingress controller's address.
   */
  readonly host: string;
  /**
   * The mediasoup app's host; the landing redirects there.
   * @default `app.<host>` (nip.io resolves it to the same address)
   */
  readonly appHost?: string;
  /**
   * IngressClass of both Ingresses (and of the rendered ClusterIssuer's HTTP-01 solver).
   * @default 'nginx'
   */
  readonly ingressClass?: string;
  /** @default see MediasoupTlsProps */
  readonly tls?: MediasoupTlsProps;
  /**
   * The ingress controller's pods: the only peers that may reach the landing server and the
   * mediasoup app (their NetworkPolicies).
   * @default every pod of the namespace `ingress-nginx`
   */
  readonly ingressControllerPeers?: readonly K8sNetworkPolicyPeer[];
  /**
   * Namespace of every namespaced object.
   * @default the chart's namespace, or "default"
   */
  readonly namespace?: string;
  /**
   * The mediasoup demo image: an HTTPS server on PROTOO_LISTEN_PORT that serves the client and its
   * WebSocket, configured by MEDIASOUP_* variables.
   * @default DEFAULT_MEDIASOUP_IMAGE (STUNner's tutorial's image; pin it)
   */
  readonly image?: string;
  /**
   * mediasoup's RTC port range: the route admits exactly this range on the mediasoup pods.
   * @default { min: 40000, max: 49999 } (as in STUNner's tutorial)
   */
  readonly rtcPorts?: { readonly min: number; readonly max: number };
  /**
   * TURN credentials of the gateway. Ephemeral ones only: the landing server puts them in a URL.
   * @default TurnAuth.ephemeral('stunner-auth-secret'): a Secret you create, key `secret`
   */
  readonly auth?: TurnAuth;
  /**
   * Address browsers reach the gateway at, when it is known up front.
   * @default discovered at run time from the gateway's load balancer
   */
  readonly publicAddress?: string;
  /**
   * Lifetime of the credentials in a redirect, in seconds: a call cannot outlive them (the
   * gateway refuses the allocation's refreshes after that), and a leaked URL is worthless after.
   * @default 3600
   */
  readonly iceTtlSeconds?: number;
  /**
   * Image that runs the landing server bundle: a mirror of the pinned stock Node.js image.
   * @default the pinned stock Node.js image (NODE_IMAGE)
   */
  readonly landingImage?: string;
}

export class MediasoupDemo extends Construct {
  readonly namespace: string;
  readonly gateway: StunnerGateway;
  readonly route: MediaRoute;
  readonly iceAuth: IceAuthService;
  readonly landing: DemoServer;
  /** The mediasoup server's Deployment and its HTTPS Service (port 443). */
  readonly serverName = 'mediasoup-server';
  /** The headless Service whose pods (mediasoup's) the route admits. */
  readonly mediaServiceName = 'mediasoup-media';
  readonly rtcPorts: { readonly min: number; readonly max: number };
  readonly host: string;
  readonly appHost: string;
  /** Where the landing sends browsers: `https://<appHost>/`. */
  readonly appUrl: string;
  readonly ingressClass: string;
  readonly clusterIssuer: string;
  readonly tlsSecretName: string;
  readonly #props: MediasoupDemoProps;

  constructor(scope: Construct, id: string, props: MediasoupDemoProps) {
    super(scope, id);
    this.#props = props;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.rtcPorts = props.rtcPorts ?? { min: 40000, max: 49999 };
    this.host = props.host ?? '';
    this.appHost = props.appHost ?? `app.${this.host}`;
    this.appUrl = `https://${this.appHost}/`;
    this.ingressClass = props.ingressClass ?? 'nginx';
    this.clusterIssuer = props.tls?.clusterIssuer ?? 'letsencrypt-prod';
    this.tlsSecretName = props.tls?.secretName ?? 'mediasoup-tls';

    this.gateway = mediaServerGateway(this, props, this.namespace);
    const selector = appSelectorLabels({ name: 'mediasoup', instance: this.serverName });
    this.route = this.#renderServer(selector);
    this.iceAuth = new IceAuthService(this, 'IceAuth', {
      namespace: this.namespace,
      gateways: [this.gateway],
      // Its answers carry TURN credentials: only the landing server asks.
      allowFrom: [{ podSelector: { matchLabels: demoSelector('mediasoup-landing', 'mediasoup-landing') } }],
    });
    this.landing = new DemoServer(this, 'Landing', {
      server: 'mediasoup-landing',
      name: 'mediasoup-landing',
      namespace: this.namespace,
      ports: [{ name: 'http', port: 80, containerPort: DEMO_DEFAULTS.webPort, protocol: 'TCP' }],
      env: {
        [DemoEnv.PORT]: String(DEMO_DEFAULTS.webPort),
        ...demoIceEnv(this.iceAuth, this.namespace, {
          gateway: this.gateway.gatewayName,
          listener: 'udp-listener',
        }),
        [DemoEnv.ICE_TTL_SECONDS]: String(props.iceTtlSeconds ?? 3600),
        [DemoEnv.MEDIASOUP_URL]: this.appUrl,
      },
      httpProbePort: 'http',
      serviceType: 'ClusterIP',
      image: props.landingImage ?? DEMO_NODE_IMAGE,
      ingressFrom: this.#ingressControllers,
      egress: [iceAuthEgress(this.iceAuth)],
    });
    this.#renderIngress();
    this.node.addValidation({ validate: () => this.#validate() });
  }

  get #ingressControllers(): readonly K8sNetworkPolicyPeer[] {
    return (
      this.#props.ingressControllerPeers ?? [
        {
          namespaceSelector: {
            matchLabels: { [LABEL_NAMESPACE_NAME]: DEFAULT_INGRESS_CONTROLLER_NAMESPACE },
          },
        },
      ]
    );
  }

  #labels(instance: string, name = 'mediasoup'): Record<string, string> {
    return appLabels({ name, instance, component: DEMO_COMPONENT });
  }

  #renderServer(selector: Record<string, string>): MediaRoute {
    const labels = this.#labels(this.serverName);
    const podIP = { valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } };
    warnUnpinnedImage(this, 'image', this.#props.image ?? DEFAULT_MEDIASOUP_IMAGE);
    return renderMediaServer(this, {
      namespace: this.namespace,
      gateway: this.gateway,
      labels,
      selector,
      ids: { deployment: 'Server', service: 'ServerService', mediaService: 'MediaService' },
      name: this.serverName,
      mediaServiceName: this.mediaServiceName,
      container: {
        name: 'mediasoup',
        image: this.#props.image ?? DEFAULT_MEDIASOUP_IMAGE,
        imagePullPolicy: 'IfNotPresent',
        env: [
          { name: 'PROTOO_LISTEN_PORT', value: '443' },
          // The gateway relays to the pod inside the cluster: mediasoup announces and
          // listens on the pod IP, never on a public address.
          { name: 'MEDIASOUP_ANNOUNCED_IP', ...podIP },
          { name: 'MEDIASOUP_LISTEN_IP', ...podIP },
          { name: 'MEDIASOUP_MIN_PORT', value: String(this.rtcPorts.min) },
          { name: 'MEDIASOUP_MAX_PORT', value: String(this.rtcPorts.max) },
        ],
        ports: [
          { name: 'https', containerPort: 443, protocol: 'TCP' },
          { name: 'rtc', containerPort: this.rtcPorts.min, protocol: 'UDP' },
        ],
        readinessProbe: { tcpSocket: { port: 'https' }, periodSeconds: 10, timeoutSeconds: 2 },
        resources: {
          requests: { cpu: '200m', memory: '256Mi' },
          limits: { cpu: '2', memory: '1Gi' },
        },
        // The demo image binds 443 as root: of the capabilities, it keeps only that one.
        securityContext: {
          ...thirdPartyContainerSecurityContext(),
          capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
        },
      },
      // Signalling and the client: HTTPS, reached through the Ingress only. Media: the route
      // admits the mediasoup pods.
      signalling: { name: 'https', port: 443, protocol: 'TCP' },
      signallingFrom: this.#ingressControllers,
      media: { name: 'rtc', ...this.rtcPorts },
      podSecurityException: 'mediasoup',
    });
  }

  #renderIngress(): void {
    const tls = this.#props.tls ?? {};
    if (tls.createClusterIssuer) {
      renderObject(
        this,
        'ClusterIssuer',
        {
          apiVersion: 'cert-manager.io/v1',
          kind: 'ClusterIssuer',
          metadata: { name: this.clusterIssuer, labels: this.#labels(this.serverName) },
          spec: {
            acme: {
              server: tls.acmeServer ?? LETSENCRYPT_PRODUCTION,
              email: tls.email ?? '',
              privateKeySecretRef: { name: `${this.clusterIssuer}-account-key` },
              solvers: [{ http01: { ingress: { ingressClassName: this.ingressClass } } }],
            },
          },
        },
        SyncWave.CONFIG_AND_SECRETS,
      );
    }
    // cert-manager answers the HTTP-01 challenge from solver pods in this namespace: past the
    // default deny, only the ingress controller reaches them, on the solver's port.
    renderDemoNetworkPolicy(this, 'AcmeSolverNetworkPolicy', {
      name: 'acme-http01-solver',
      namespace: this.namespace,
      selector: { [ACME_SOLVER_LABEL]: 'true' },
      labels: this.#labels(this.serverName),
      ingress: [{ peers: this.#ingressControllers, ports: [{ protocol: 'TCP', port: ACME_SOLVER_PORT }] }],
      egress: [],
    });
    renderObject(
      this,
      'Certificate',
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: {
          name: this.tlsSecretName,
          namespace: this.namespace,
          labels: this.#labels(this.serverName),
        },
        spec: {
          secretName: this.tlsSecretName,
          dnsNames: [this.host, this.appHost],
          issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: this.clusterIssuer },
        },
      },
      SyncWave.CONFIG_AND_SECRETS,
    );
    const ingress = (
      id: string,
      name: string,
      host: string,
      service: string,
      port: string,
      annotations: Record<string, string>,
    ) =>
      renderObject(
        this,
        id,
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: {
            name,
            namespace: this.namespace,
            labels: this.#labels(name === this.serverName ? this.serverName : this.landing.name),
            ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
          },
          spec: {
            ingressClassName: this.ingressClass,
            tls: [{ hosts: [host], secretName: this.tlsSecretName }],
            rules: [
              {
                host,
                http: {
                  paths: [
                    {
                      path: '/',
                      pathType: 'Prefix',
                      backend: { service: { name: service, port: { name: port } } },
                    },
                  ],
                },
              },
            ],
          },
        },
        SyncWave.DEMOS_AND_SMOKE_TESTS,
      );
    // The landing server: plain HTTP behind the controller's TLS.
    ingress('LandingIngress', this.landing.name, this.host, this.landing.name, 'http', {});
    // The app: its server speaks HTTPS (its own certificate) and WebSocket on the same port.
    ingress(
      'ServerIngress',
      this.serverName,
      this.appHost,
      this.serverName,
      'https',
      this.ingressClass === 'nginx'
        ? {
            'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
            'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
            'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
          }
        : {},
    );
  }

  /** Pure: reads the props. */
  #validate(): string[] {
    const problems: string[] = [];
    const { min, max } = this.rtcPorts;
    for (const [what, port] of [
      ['rtcPorts.min', min],
      ['rtcPorts.max', max],
    ] as const) {
      const p = portProblem(what, port);
      if (p) problems.push(p);
    }
    if (min > max) problems.push(`rtcPorts.min ${min} is above rtcPorts.max ${max}`);
    if (min <= 443 && 443 <= max)
      problems.push(`the RTC range ${min}-${max} holds 443, the server's HTTPS port`);
    for (const [what, host] of [
      ['host', this.#props.host],
      ['appHost', this.appHost],
    ] as const) {
      if (host === undefined || host.trim() === '')
        problems.push(`${what} is missing: the DNS name browsers open (e.g. mediasoup-<ingress-ip>.nip.io)`);
      else if (!HOSTNAME.test(host)) problems.push(`${what} ${JSON.stringify(host)} is not a DNS name`);
    }
    if (this.#props.host && this.appHost === this.#props.host)
      problems.push('appHost must differ from host: the app needs `/` of a host of its own');
    const tls = this.#props.tls ?? {};
    if (tls.createClusterIssuer && !(tls.email ?? '').includes('@'))
      problems.push('tls.email is required with tls.createClusterIssuer: the ACME account e-mail');
    const auth = this.#props.auth;
    if (auth !== undefined && auth.type !== 'ephemeral')
      problems.push(
        'auth must be ephemeral: the landing server puts the credentials in a URL, so they must expire',
      );
    const ttl = this.#props.iceTtlSeconds ?? 3600;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > 86400)
      problems.push(`iceTtlSeconds ${ttl} must be a whole number of seconds from 60 to 86400`);
    const image = this.#props.image;
    if (image !== undefined && image.trim() === '') problems.push('image is empty');
    return problems;
  }
}

/** A DNS name (lower case, dots, no wildcard), as an Ingress rule's host must be. */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

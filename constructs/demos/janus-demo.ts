/**
 * JanusDemo: STUNner's media-plane deployment model with a real media server. Janus (an image you
 * choose) runs the EchoTest plugin with a fixed RTP port range; a TURN-UDP gateway's route admits
 * exactly that range on the Janus pods; the ICE auth service mints relay-only configurations; and
 * our page server serves the echo-test page and forwards its Janus API calls to Janus's HTTP API
 * through an ordinary Service. Only media crosses the gateway.
 *
 * Pod security: the namespace enforces `baseline`, not `restricted`, because the Janus image runs
 * as root (POD_SECURITY_EXCEPTIONS.janus); Janus still gets RuntimeDefault seccomp, no privilege
 * escalation and no capabilities, and every other pod here is `restricted`. Each pod has its own
 * NetworkPolicy on top of the namespace's default deny.
 */
import { Construct } from 'constructs';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { IMAGES, imageRef } from '../../contract/images.js';
import { appLabels, appSelectorLabels } from '../../contract/labels.js';
import { renderObject } from '../core/api-object.js';
import { warnUnpinnedImage } from '../core/image-pin.js';
import { chartNamespace } from '../core/naming.js';
import { thirdPartyContainerSecurityContext } from '../core/pod-security.js';
import { SyncWave } from '../core/sync-wave.js';
import type { MediaRoute } from '../gateway/media-route.js';
import type { StunnerGateway } from '../gateway/stunner-gateway.js';
import type { TurnAuth } from '../gateway/turn-auth.js';
import { IceAuthService } from '../ice/ice-auth-service.js';
import { demoIceEnv, iceAuthEgress, mediaServerGateway, podsPeer, renderMediaServer } from './demo-parts.js';
import type { DemoServiceProps } from './demo-props.js';
import { DEMO_COMPONENT, DEMO_NODE_IMAGE, DemoServer, demoSelector, portProblem } from './demo-server.js';

/**
 * The Janus image of STUNner's Janus tutorial (contract/images.ts). Pinned by tag only: no published
 * digest was found, so synth warns until you pin one (janusImage).
 */
export const DEFAULT_JANUS_IMAGE = imageRef(IMAGES.janus);

/** Janus's config folder, relative to the container's working directory (`/janus`). */
export const JANUS_CONFIG_DIR = 'config';
export const JANUS_WORKDIR = '/janus';

export interface JanusDemoProps extends DemoServiceProps {
  /**
   * TURN credentials of the gateway; the ICE auth service mints them for the page.
   * @default TurnAuth.ephemeral('stunner-auth-secret'): a Secret you create, key `secret`
   */
  readonly auth?: TurnAuth;
  /**
   * The Janus image (Janus 1.x with the EchoTest plugin and the HTTP transport). Pin it by digest:
   * synth warns on an image without one.
   * @default DEFAULT_JANUS_IMAGE: STUNner's tutorial's l7mp/janus-gateway, tag v1.2.4 (contract/images.ts)
   */
  readonly janusImage?: string;
  /**
   * The Janus executable in that image (found on its PATH unless absolute).
   * @default 'janus'
   */
  readonly janusCommand?: string;
  /**
   * Janus's RTP (and ICE) port range: the route admits exactly this range on the Janus pods.
   * @default { min: 20000, max: 20099 }
   */
  readonly rtpPorts?: { readonly min: number; readonly max: number };
  /**
   * Port of Janus's HTTP API (its ordinary Service; the page server calls it).
   * @default 8089 (apart from the ICE auth service's 8088)
   */
  readonly janusHttpPort?: number;
  /**
   * Interface Janus gathers ICE candidates on: the pod's network interface.
   * @default 'eth0'
   */
  readonly janusInterface?: string;
  /**
   * Port of the page server's Service.
   * @default 80
   */
  readonly pagePort?: number;
  /**
   * Image that runs the page server bundle: a mirror of the pinned stock Node.js image.
   * @default the pinned stock Node.js image (NODE_IMAGE)
   */
  readonly pageImage?: string;
}

export class JanusDemo extends Construct {
  readonly namespace: string;
  readonly gateway: StunnerGateway;
  readonly route: MediaRoute;
  readonly iceAuth: IceAuthService;
  readonly page: DemoServer;
  /** Janus's Deployment and HTTP Service. */
  readonly janusName = 'janus';
  /** The headless Service whose pods (Janus's) the route admits. */
  readonly janusMediaServiceName = 'janus-media';
  readonly rtpPorts: { readonly min: number; readonly max: number };
  readonly janusHttpPort: number;
  readonly #props: JanusDemoProps;

  constructor(scope: Construct, id: string, props: JanusDemoProps = {}) {
    super(scope, id);
    this.#props = props;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.rtpPorts = props.rtpPorts ?? { min: 20000, max: 20099 };
    this.janusHttpPort = props.janusHttpPort ?? DEMO_DEFAULTS.janusHttpPort;
    this.gateway = mediaServerGateway(this, props, this.namespace);
    const selector = appSelectorLabels({ name: 'janus', instance: this.janusName });
    this.route = this.#renderJanus(selector);
    this.iceAuth = new IceAuthService(this, 'IceAuth', {
      namespace: this.namespace,
      gateways: [this.gateway],
    });
    this.page = new DemoServer(this, 'Page', {
      server: 'janus-echo',
      name: 'janus-echo',
      namespace: this.namespace,
      ports: [
        { name: 'http', port: props.pagePort ?? 80, containerPort: DEMO_DEFAULTS.webPort, protocol: 'TCP' },
      ],
      env: {
        [DemoEnv.PORT]: String(DEMO_DEFAULTS.webPort),
        ...demoIceEnv(this.iceAuth, this.namespace, {
          gateway: this.gateway.gatewayName,
          listener: 'udp-listener',
        }),
        [DemoEnv.JANUS_URL]: `http://${this.janusName}.${this.namespace}.svc.${this.gateway.clusterDomain}:${this.janusHttpPort}/janus`,
      },
      httpProbePort: 'http',
      serviceType: 'ClusterIP',
      image: props.pageImage ?? DEMO_NODE_IMAGE,
      // Browsers open the page; it asks the ICE auth service and forwards to Janus's HTTP API.
      egress: [
        iceAuthEgress(this.iceAuth),
        { peers: [podsPeer(selector)], ports: [{ protocol: 'TCP', port: this.janusHttpPort }] },
      ],
    });
    // The page server is the auth service's one caller.
    this.iceAuth.allowClients({ podSelector: { matchLabels: { ...this.page.selectorLabels } } });
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** Janus's config files (jcfg): only the EchoTest plugin and the HTTP transport, the RTP range. */
  janusConfig(): Record<string, string> {
    const iface = this.#props.janusInterface ?? 'eth0';
    return {
      'janus.jcfg': [
        'general: {',
        `  configs_folder = "${JANUS_CONFIG_DIR}"`,
        '  debug_level = 4',
        '  server_name = "stunner-gitops-janus"',
        '}',
        'media: {',
        `  rtp_port_range = "${this.rtpPorts.min}-${this.rtpPorts.max}"`,
        '}',
        'nat: {',
        '  # candidates on the pod network only; the gateway relays every browser to them',
        `  ice_enforce_list = "${iface}"`,
        '}',
        'plugins: {',
        `  disable = "${DISABLED_PLUGINS.join(',')}"`,
        '}',
        'transports: {',
        `  disable = "${DISABLED_TRANSPORTS.join(',')}"`,
        '}',
        'loggers: {',
        '  disable = "libjanus_jsonlog.so"',
        '}',
        '',
      ].join('\n'),
      'janus.transport.http.jcfg': [
        'general: {',
        '  base_path = "/janus"',
        '  http = true',
        `  port = ${this.janusHttpPort}`,
        '  https = false',
        '}',
        'admin: {',
        '  admin_http = false',
        '}',
        '',
      ].join('\n'),
      'janus.plugin.echotest.jcfg': 'general: {\n}\n',
    };
  }

  #renderJanus(selector: Record<string, string>): MediaRoute {
    const labels = appLabels({ name: 'janus', instance: this.janusName, component: DEMO_COMPONENT });
    const meta = (name: string) => ({ name, namespace: this.namespace, labels: { ...labels } });
    const configMap = `${this.janusName}-config`;
    renderObject(
      this,
      'JanusConfig',
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: meta(configMap),
        data: this.janusConfig(),
      },
      SyncWave.CONFIG_AND_SECRETS,
    );
    warnUnpinnedImage(this, 'janusImage', this.#props.janusImage ?? DEFAULT_JANUS_IMAGE);
    return renderMediaServer(this, {
      namespace: this.namespace,
      gateway: this.gateway,
      labels,
      selector,
      ids: { deployment: 'Janus', service: 'JanusService', mediaService: 'JanusMediaService' },
      name: this.janusName,
      mediaServiceName: this.janusMediaServiceName,
      container: {
        name: 'janus',
        image: this.#props.janusImage ?? DEFAULT_JANUS_IMAGE,
        imagePullPolicy: 'IfNotPresent',
        workingDir: JANUS_WORKDIR,
        command: [this.#props.janusCommand ?? 'janus'],
        args: ['--configs-folder', JANUS_CONFIG_DIR, '--disable-colors'],
        ports: [
          { name: 'http', containerPort: this.janusHttpPort, protocol: 'TCP' },
          { name: 'rtp', containerPort: this.rtpPorts.min, protocol: 'UDP' },
        ],
        readinessProbe: {
          httpGet: { path: '/janus/info', port: 'http', scheme: 'HTTP' },
          periodSeconds: 10,
          timeoutSeconds: 2,
        },
        resources: {
          requests: { cpu: '100m', memory: '64Mi' },
          limits: { cpu: '1', memory: '512Mi' },
        },
        securityContext: thirdPartyContainerSecurityContext(),
        volumeMounts: [{ name: 'config', mountPath: `${JANUS_WORKDIR}/${JANUS_CONFIG_DIR}`, readOnly: true }],
      },
      volumes: [{ name: 'config', configMap: { name: configMap, defaultMode: 0o444 } }],
      // Signalling: reached by the page server only. Media: the route admits the Janus pods.
      signalling: { name: 'http', port: this.janusHttpPort, protocol: 'TCP' },
      signallingFrom: [podsPeer(demoSelector('janus-echo', 'janus-echo'))],
      media: { name: 'rtp', ...this.rtpPorts },
      podSecurityException: 'janus',
    });
  }

  /** Pure: reads the props. */
  #validate(): string[] {
    const problems: string[] = [];
    const { min, max } = this.rtpPorts;
    for (const [what, port] of [
      ['rtpPorts.min', min],
      ['rtpPorts.max', max],
      ['janusHttpPort', this.janusHttpPort],
      ['pagePort', this.#props.pagePort ?? 80],
    ] as const) {
      const p = portProblem(what, port);
      if (p) problems.push(p);
    }
    if (min > max) problems.push(`rtpPorts.min ${min} is above rtpPorts.max ${max}`);
    if (min <= this.janusHttpPort && this.janusHttpPort <= max)
      problems.push(`janusHttpPort ${this.janusHttpPort} is inside the RTP range ${min}-${max}`);
    const image = this.#props.janusImage;
    if (image !== undefined && image.trim() === '') problems.push('janusImage is empty');
    return problems;
  }
}

const DISABLED_PLUGINS = [
  'audiobridge',
  'duktape',
  'lua',
  'nosip',
  'recordplay',
  'sip',
  'streaming',
  'textroom',
  'videocall',
  'videoroom',
  'voicemail',
].map((p) => `libjanus_${p}.so`);
const DISABLED_TRANSPORTS = ['mqtt', 'nanomsg', 'pfunix', 'rabbitmq', 'websockets'].map(
  (t) => `libjanus_${t}.so`,
);

/**
 * CloudRetroDemo: STUNner's cloud-gaming demo (CloudRetro), with none of its post-install scripts.
 *
 * A primary cluster (no `primary` prop) runs the coordinator, the workers and a TURN-UDP gateway;
 * a secondary (`primary: <the primary's demo>`) runs workers and a gateway. The route admits only
 * the workers' media port (the UDP Service `worker-ci-udp-svc`). Workers find the coordinator
 * through its Service's cluster DNS name in the primary, and through the primary's
 * `coordinatorAddress` (a DNS name or reserved IP) in a secondary.
 *
 * The coordinator hands the browsers its ICE servers: every cluster's gateway. Either
 * - `iceServersFrom: 'props'`: rendered at synth time as CloudRetro's environment variables from
 *   each gateway's `publicAddress` and static credentials, always by Secret reference (inline
 *   credentials go into a Secret rendered here, never into a plain env value), or
 * - `iceServersFrom: 'ice-auth-service'` (the default): our cloudretro-ice step, a native sidecar
 *   of the coordinator's pod (demo-servers/cloudretro-ice, shipped like the runtime on the stock
 *   Node.js image), asks each cluster's ICE auth service (`/ice`) and writes CloudRetro's config
 *   file and env file; the coordinator starts after the first one, and is restarted (its liveness
 *   probe asks the step) when the step rewrites them: a changed address, or credentials due.
 *   Its own cluster's service admits only the coordinator's pods; a secondary's, asked across
 *   clusters, answers only requests with the API key (`iceApiKeySecret`), which only the step
 *   mounts. Give the secondaries an `https://` `iceAuthUrl` where the path between clusters is
 *   not private: the key and the credentials travel in it.
 *
 * Pod security: the namespace enforces `baseline`, not `restricted`, because the CloudRetro image
 * runs coordinator and worker as root (POD_SECURITY_EXCEPTIONS.cloudretro); they still get
 * RuntimeDefault seccomp, no privilege escalation and no capabilities. Each workload has its own
 * NetworkPolicy on top of the namespace's default deny.
 */
import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { cloudRetroIceVar } from '../../contract/cloudretro.js';
import { DEFAULT_PORT } from '../../contract/defaults.js';
import {
  DEMO_BOOTSTRAP_FILE,
  DEMO_BUNDLE_DIR,
  DEMO_BUNDLE_FILE,
  DEMO_DEFAULTS,
  DEMO_RUN_DIR,
  DEMO_WORKDIR,
  DemoEnv,
  demoCommand,
} from '../../contract/demo-layout.js';
import { IMAGES, imageRef } from '../../contract/images.js';
import {
  ANNOTATION_DEMO_SHA,
  ANNOTATION_POD_SECURITY_EXCEPTION,
  appLabels,
  appSelectorLabels,
  LABEL_COMPONENT,
} from '../../contract/labels.js';
import { RUNTIME_UID } from '../../contract/pod-layout.js';
import { renderObject } from '../core/api-object.js';
import { warnUnpinnedImage } from '../core/image-pin.js';
import type { K8sNetworkPolicyPeer } from '../core/k8s-types.js';
import { chartNamespace } from '../core/naming.js';
import {
  containerSecurityContext,
  thirdPartyContainerSecurityContext,
  thirdPartyPodSecurityContext,
} from '../core/pod-security.js';
import { SyncWave } from '../core/sync-wave.js';
import { MediaRoute } from '../gateway/media-route.js';
import { StunnerGateway } from '../gateway/stunner-gateway.js';
import { TurnAuth } from '../gateway/turn-auth.js';
import { IceAuthService } from '../ice/ice-auth-service.js';
import { type PackagedDemo, packagedDemo } from '../runtime-bundle/packaged-demos.js';
import { gatewayPeer, iceAuthEgress, podsPeer, relayEgress, renderDemoNetworkPolicy } from './demo-parts.js';
import type { DemoProps } from './demo-props.js';
import { DEMO_COMPONENT, DEMO_NODE_IMAGE, portProblem } from './demo-server.js';

/**
 * The CloudRetro image of STUNner's demo (coordinator and worker in one image; contract/images.ts).
 * No published digest was found: synth warns until you pin one (image).
 */
export const DEFAULT_CLOUDRETRO_IMAGE = imageRef(IMAGES.cloudretro);

/** The objects' names, as in STUNner's CloudRetro manifests. */
export const CloudRetroNames = {
  coordinator: 'coordinator-deployment',
  coordinatorService: 'coordinator-lb-svc',
  worker: 'worker-deployment',
  workerService: 'worker-lb-svc',
  workerMediaService: 'worker-ci-udp-svc',
  gateway: 'udp-gateway',
  listener: 'udp-listener',
  route: 'worker-udp-route',
  iceStep: 'cloudretro-ice',
} as const;

export const CLOUDRETRO_PORTS = { coordinator: 8000, worker: 9000, media: 8443 } as const;

/** A worker runs the emulators and encodes the video: most of the demo's CPU. */
const WORKER_RESOURCES = { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '2', memory: '1Gi' } };
const COORDINATOR_RESOURCES = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

/** Where the coordinator reads the ICE step's files: `$HOME/.cr/` (CloudRetro's per-user config dir). */
export const CLOUDRETRO_HOME = '/cloudretro';
const CONFIG_MOUNT = `${CLOUDRETRO_HOME}/.cr`;
/** The same volume in the ICE step's container, relative to its working directory. */
const STEP_CONFIG_DIR = 'cloudretro';
/** The API key Secret in the ICE step's container, relative to its working directory. */
const STEP_API_KEY_DIR = 'ice-api-key';
/** The Secret (key `key`) a secondary's ICE auth service requires and the primary's step sends. */
export const DEFAULT_CLOUDRETRO_ICE_API_KEY_SECRET = 'cloudretro-ice-api-key';

export interface CloudRetroDemoProps extends DemoProps {
  /**
   * CloudRetro image (coordinator and worker).
   * @default DEFAULT_CLOUDRETRO_IMAGE (STUNner's demo image)
   */
  readonly image?: string;
  /**
   * TURN credentials of this cluster's gateway. `iceServersFrom: 'props'` needs static ones.
   * @default TurnAuth.ephemeral('stunner-auth-secret'): a Secret you create, key `secret`
   */
  readonly auth?: TurnAuth;
  /**
   * Address (reserved IP or DNS name) browsers reach this cluster's gateway at. Needed by
   * `iceServersFrom: 'props'`.
   * @default discovered at run time from the gateway's load balancer
   */
  readonly publicAddress?: string;
  /**
   * How the coordinator learns the gateways' ICE servers (see the file's comment). Set it on the
   * primary; a secondary follows its primary.
   * @default 'ice-auth-service'
   */
  readonly iceServersFrom?: 'props' | 'ice-auth-service';
  /**
   * Lifetime of the ephemeral TURN credentials the ICE step asks for, in seconds; it rewrites the
   * config (and so restarts the coordinator) at 80% of it.
   * @default 86400
   */
  readonly iceTtlSeconds?: number;
  /**
   * Seconds between the ICE step's checks for a changed gateway address.
   * @default 30
   */
  readonly icePollSeconds?: number;
  /**
   * Makes this a secondary cluster's demo (workers and a gateway, no coordinator): the primary's
   * demo, from another chart of the same app. Its coordinator lists this cluster's gateway.
   * @default none: this is the primary
   */
  readonly primary?: CloudRetroDemo;
  /**
   * Primary: the address (DNS name or reserved IP) the coordinator's load balancer has; the
   * secondaries' workers connect to `<coordinatorAddress>:8000`. Required once there is a secondary.
   * @default none
   */
  readonly coordinatorAddress?: string;
  /**
   * Secondary with `iceServersFrom: 'ice-auth-service'`: the URL at which the primary's ICE step
   * reaches this cluster's ICE auth service (e.g. an internal load balancer or a mesh name).
   * @default none
   */
  readonly iceAuthUrl?: string;
  /**
   * Who may ask this cluster's ICE auth service, besides a primary's own coordinator. On a
   * secondary: where the primary's ICE step comes from as this cluster sees it (e.g. the primary
   * cluster's egress CIDR, behind the internal load balancer of `iceAuthUrl`).
   * @default a primary: its coordinator only; a secondary: any source that has the API key
   */
  readonly iceAuthClients?: readonly K8sNetworkPolicyPeer[];
  /**
   * The workers' public address (`CLOUD_GAME_WORKER_NETWORK_PUBLICADDRESS`): what browsers reach
   * `worker-lb-svc` at.
   * @default not set
   */
  readonly workerPublicAddress?: string;
  /**
   * Image that runs the ICE step: a mirror of the pinned stock Node.js image.
   * @default the pinned stock Node.js image (NODE_IMAGE)
   */
  readonly iceStepImage?: string;
  /**
   * The API key that guards the secondaries' ICE auth services, which the primary's ICE step asks
   * across clusters: a Secret (key `key`) of this name, with the same value, in the primary's and
   * every secondary's namespace. A secondary's service answers only requests carrying it; the
   * primary's own service admits only its coordinator's pods (NetworkPolicy). Set on the primary;
   * the secondaries follow it.
   * @default DEFAULT_CLOUDRETRO_ICE_API_KEY_SECRET ('cloudretro-ice-api-key'), used once there is a secondary
   */
  readonly iceApiKeySecret?: string;
}

export class CloudRetroDemo extends Construct {
  readonly namespace: string;
  readonly gateway: StunnerGateway;
  readonly route: MediaRoute;
  /** Rendered with `iceServersFrom: 'ice-auth-service'`. */
  readonly iceAuth: IceAuthService | undefined;
  readonly isPrimary: boolean;
  /** The coordinator address this cluster's workers connect to (`host:port`). */
  readonly coordinatorEndpoint: string;
  readonly iceServersFrom: 'props' | 'ice-auth-service';
  readonly publicAddress: string | undefined;
  readonly #props: CloudRetroDemoProps;
  readonly #secondaries: CloudRetroDemo[] = [];
  #stepBundle: PackagedDemo | undefined;
  #stepError: string | undefined;

  constructor(scope: Construct, id: string, props: CloudRetroDemoProps = {}) {
    super(scope, id);
    this.#props = props;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.isPrimary = props.primary === undefined;
    this.iceServersFrom = props.primary?.iceServersFrom ?? props.iceServersFrom ?? 'ice-auth-service';
    this.publicAddress = props.publicAddress;
    const image = props.image ?? DEFAULT_CLOUDRETRO_IMAGE;
    warnUnpinnedImage(this, 'image', image);

    this.gateway = new StunnerGateway(this, 'Gateway', {
      name: CloudRetroNames.gateway,
      namespace: this.namespace,
      createNamespace: props.createNamespace ?? true,
      podSecurity: 'baseline',
      auth: props.auth ?? TurnAuth.ephemeral('stunner-auth-secret'),
      listeners: [{ name: CloudRetroNames.listener, protocol: 'TURN-UDP', port: props.port ?? DEFAULT_PORT }],
      ...(props.publicAddress !== undefined ? { publicAddress: props.publicAddress } : {}),
      ...(props.runtime !== undefined ? { runtime: props.runtime } : {}),
    });
    // Its one caller is the coordinator's ICE step: this cluster's coordinator pods, or the
    // primary's from afar, with the API key (and from iceAuthClients only, when given).
    this.iceAuth =
      this.iceServersFrom === 'ice-auth-service'
        ? new IceAuthService(this, 'IceAuth', {
            namespace: this.namespace,
            gateways: [this.gateway],
            ...(props.iceAuthClients !== undefined ? { allowFrom: props.iceAuthClients } : {}),
            // a secondary's service is asked from another cluster: only with the API key
            ...(this.isPrimary ? {} : { apiKeySecret: this.iceApiKeySecret }),
          })
        : undefined;
    if (this.isPrimary)
      this.iceAuth?.allowClients({ podSelector: { matchLabels: this.#selector('coordinator') } });

    // Workers: their media port only, through the gateway.
    const workerLabels = this.#selector('worker');
    this.#object('WorkerMediaService', 'Service', CloudRetroNames.workerMediaService, {
      spec: {
        type: 'ClusterIP',
        selector: workerLabels,
        ports: [{ name: 'media', port: CLOUDRETRO_PORTS.media, targetPort: 'media', protocol: 'UDP' }],
      },
    });
    this.route = new MediaRoute(this, 'Route', {
      name: CloudRetroNames.route,
      namespace: this.namespace,
      parents: [this.gateway],
    });
    this.route.addService(
      { name: CloudRetroNames.workerMediaService, namespace: this.namespace, selector: workerLabels },
      { port: CLOUDRETRO_PORTS.media },
    );
    this.#object('WorkerService', 'Service', CloudRetroNames.workerService, {
      spec: {
        type: 'LoadBalancer',
        selector: workerLabels,
        ports: [{ name: 'http', port: CLOUDRETRO_PORTS.worker, targetPort: 'http', protocol: 'TCP' }],
      },
    });
    this.coordinatorEndpoint = this.isPrimary
      ? `${CloudRetroNames.coordinatorService}.${this.namespace}.svc.${this.gateway.clusterDomain}:${CLOUDRETRO_PORTS.coordinator}`
      : `${props.primary!.#props.coordinatorAddress ?? '<coordinatorAddress>'}:${CLOUDRETRO_PORTS.coordinator}`;
    this.#object('Worker', 'Deployment', CloudRetroNames.worker, {
      spec: this.#deploymentSpec(
        workerLabels,
        {},
        [],
        [
          {
            name: 'worker',
            image,
            imagePullPolicy: 'IfNotPresent',
            command: ['worker', '--v=5'],
            env: [
              { name: 'CLOUD_GAME_WORKER_NETWORK_COORDINATORADDRESS', value: this.coordinatorEndpoint },
              ...(props.workerPublicAddress !== undefined
                ? [{ name: 'CLOUD_GAME_WORKER_NETWORK_PUBLICADDRESS', value: props.workerPublicAddress }]
                : []),
              // Every WebRTC session on one UDP port: the one the route admits.
              { name: 'CLOUD_GAME_WEBRTC_SINGLEPORT', value: String(CLOUDRETRO_PORTS.media) },
            ],
            ports: [
              { name: 'http', containerPort: CLOUDRETRO_PORTS.worker, protocol: 'TCP' },
              { name: 'media', containerPort: CLOUDRETRO_PORTS.media, protocol: 'UDP' },
            ],
            resources: WORKER_RESOURCES,
            securityContext: thirdPartyContainerSecurityContext(),
          },
        ],
      ),
    });

    // Workers: media from the gateway only; their HTTP port from anywhere (a load balancer's
    // clients); they reach the coordinator (in this cluster's pods, or the primary's address) and
    // send media to the gateway's relay.
    renderDemoNetworkPolicy(this, 'WorkerNetworkPolicy', {
      name: CloudRetroNames.worker,
      namespace: this.namespace,
      selector: workerLabels,
      ingress: [
        { peers: [gatewayPeer(this.gateway)], ports: [{ protocol: 'UDP', port: CLOUDRETRO_PORTS.media }] },
        { ports: [{ protocol: 'TCP', port: CLOUDRETRO_PORTS.worker }] },
      ],
      egress: [
        {
          ...(this.isPrimary ? { peers: [podsPeer(this.#selector('coordinator'))] } : {}),
          ports: [{ protocol: 'TCP', port: CLOUDRETRO_PORTS.coordinator }],
        },
        relayEgress(this.gateway),
      ],
    });

    if (this.isPrimary) this.#coordinator(image);
    else {
      props.primary!.#secondaries.push(this);
      props.primary!.#inlineCredentialsSecret(this, props.primary!.#secondaries.length);
    }
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** The secondaries whose gateways the coordinator lists (after this cluster's own). */
  get secondaries(): readonly CloudRetroDemo[] {
    return [...this.#secondaries];
  }

  /** Every gateway the coordinator lists, this cluster's first. */
  /** The API key Secret of the cross-cluster ICE requests: the primary's prop, or the default. */
  get iceApiKeySecret(): string {
    return (this.#props.primary ?? this).#props.iceApiKeySecret ?? DEFAULT_CLOUDRETRO_ICE_API_KEY_SECRET;
  }

  get allDemos(): readonly CloudRetroDemo[] {
    return [this, ...this.#secondaries];
  }

  #selector(component: 'coordinator' | 'worker'): Record<string, string> {
    return appSelectorLabels({ name: 'cloudretro', instance: `cloudretro-${component}` });
  }

  #object(
    id: string,
    kind: string,
    name: string,
    body: Record<string, unknown>,
    wave = SyncWave.DEMOS_AND_SMOKE_TESTS,
  ) {
    const isWorkload = kind === 'Deployment' || kind === 'Service';
    const labels = appLabels({ name: 'cloudretro', component: DEMO_COMPONENT });
    return renderObject(
      this,
      id,
      {
        apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
        kind,
        metadata: { name, namespace: this.namespace, labels },
        ...body,
      },
      isWorkload ? wave : SyncWave.CONFIG_AND_SECRETS,
    );
  }

  #deploymentSpec(
    labels: Record<string, string>,
    annotations: Record<string, string>,
    initContainers: IContainer[],
    containers: IContainer[],
    volumes: unknown[] = [],
  ) {
    return {
      replicas: 1,
      selector: { matchLabels: { ...labels } },
      template: {
        metadata: {
          labels: { ...labels, [LABEL_COMPONENT]: DEMO_COMPONENT },
          annotations: { ...annotations, [ANNOTATION_POD_SECURITY_EXCEPTION]: 'cloudretro' },
        },
        spec: {
          securityContext: thirdPartyPodSecurityContext(),
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          ...(initContainers.length > 0 ? { initContainers } : {}),
          containers,
          ...(Array.isArray(volumes) && volumes.length === 0 ? {} : { volumes }),
        },
      },
    };
  }

  #coordinator(image: string): void {
    const labels = this.#selector('coordinator');
    // Browsers and the secondaries' workers through its load balancer; the ICE step asks this
    // cluster's ICE auth service and, at their URLs' ports, the secondaries'.
    renderDemoNetworkPolicy(this, 'CoordinatorNetworkPolicy', {
      name: CloudRetroNames.coordinator,
      namespace: this.namespace,
      selector: labels,
      ingress: [{ ports: [{ protocol: 'TCP', port: CLOUDRETRO_PORTS.coordinator }] }],
      egress: () =>
        this.iceAuth === undefined
          ? []
          : [
              iceAuthEgress(this.iceAuth),
              ...[...new Set(this.#secondaries.map((d) => urlPort(d.#props.iceAuthUrl)))]
                .filter((p) => p !== undefined)
                .map((port) => ({ ports: [{ protocol: 'TCP' as const, port }] })),
            ],
    });
    this.#object('CoordinatorService', 'Service', CloudRetroNames.coordinatorService, {
      spec: {
        type: 'LoadBalancer',
        selector: labels,
        ports: [{ name: 'http', port: CLOUDRETRO_PORTS.coordinator, targetPort: 'http', protocol: 'TCP' }],
      },
    });
    const coordinator: IContainer = {
      name: 'coordinator',
      image,
      imagePullPolicy: 'IfNotPresent',
      ports: [{ name: 'http', containerPort: CLOUDRETRO_PORTS.coordinator, protocol: 'TCP' }],
      resources: COORDINATOR_RESOURCES,
      securityContext: thirdPartyContainerSecurityContext(),
    };
    if (this.iceServersFrom === 'props') {
      this.#inlineCredentialsSecret(this, 0);
      this.#object('Coordinator', 'Deployment', CloudRetroNames.coordinator, {
        spec: this.#deploymentSpec(
          labels,
          {},
          [],
          [
            {
              ...coordinator,
              command: ['coordinator', '--v=5'],
              env: Lazy.any({ produce: () => this.#propsIceEnv() }) as unknown as IEnvVar[],
            },
          ],
        ),
      });
      return;
    }
    // The ICE step: its bundle in a ConfigMap, run by the stock Node.js image as a native sidecar.
    try {
      this.#stepBundle = packagedDemo('cloudretro-ice');
    } catch (e) {
      this.#stepError = e instanceof Error ? e.message : String(e);
    }
    const cm = `${CloudRetroNames.iceStep}-server`;
    this.#object('IceStepConfigMap', 'ConfigMap', cm, {
      data: { [DEMO_BOOTSTRAP_FILE]: this.#stepBundle?.bootstrap ?? '' },
      binaryData: this.#stepBundle ? { [DEMO_BUNDLE_FILE]: this.#stepBundle.gzip.toString('base64') } : {},
    });
    const { command, args } = demoCommand();
    const stepPort = DEMO_DEFAULTS.cloudRetroIcePort;
    const probe = (path: string, failureThreshold: number) => ({
      httpGet: { path, port: stepPort, scheme: 'HTTP' as const },
      periodSeconds: path === '/ready' ? 2 : 10,
      timeoutSeconds: 2,
      failureThreshold,
    });
    warnUnpinnedImage(this, 'iceStepImage', this.#props.iceStepImage ?? DEMO_NODE_IMAGE);
    const step: IContainer = {
      name: CloudRetroNames.iceStep,
      image: this.#props.iceStepImage ?? DEMO_NODE_IMAGE,
      imagePullPolicy: 'IfNotPresent',
      // A native sidecar: it keeps running, and the coordinator starts once its startup probe
      // (a config is written) passes.
      restartPolicy: 'Always',
      workingDir: DEMO_WORKDIR,
      command,
      args,
      env: Lazy.any({
        produce: () => [
          // It serves its status on the pod IP only (the kubelet's probes come there).
          { name: DemoEnv.POD_IP, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: DemoEnv.PORT, value: String(stepPort) },
          { name: DemoEnv.CLOUDRETRO_ICE_SOURCES, value: JSON.stringify(this.#iceSources()) },
          { name: DemoEnv.CLOUDRETRO_CONFIG_DIR, value: STEP_CONFIG_DIR },
          { name: DemoEnv.ICE_TTL_SECONDS, value: String(this.#props.iceTtlSeconds ?? 86400) },
          {
            name: DemoEnv.CLOUDRETRO_ICE_POLL_SECONDS,
            value: String(this.#props.icePollSeconds ?? DEMO_DEFAULTS.cloudRetroIcePollSeconds),
          },
        ],
      }) as unknown as IEnvVar[],
      ports: [{ name: 'ice-step', containerPort: stepPort, protocol: 'TCP' }],
      startupProbe: probe('/ready', 300),
      livenessProbe: probe('/live', 3),
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '96Mi' } },
      securityContext: { ...containerSecurityContext(), runAsUser: RUNTIME_UID, runAsGroup: RUNTIME_UID },
      volumeMounts: Lazy.any({
        produce: () => [
          { name: 'ice-step', mountPath: `${DEMO_WORKDIR}/${DEMO_BUNDLE_DIR}`, readOnly: true },
          { name: 'ice-step-run', mountPath: `${DEMO_WORKDIR}/${DEMO_RUN_DIR}` },
          { name: 'cloudretro-config', mountPath: `${DEMO_WORKDIR}/${STEP_CONFIG_DIR}` },
          ...(this.#secondaries.length > 0
            ? [{ name: STEP_API_KEY_DIR, mountPath: `${DEMO_WORKDIR}/${STEP_API_KEY_DIR}`, readOnly: true }]
            : []),
        ],
      }) as unknown as IContainer['volumeMounts'],
    };
    const envFile = `${CONFIG_MOUNT}/${DEMO_DEFAULTS.cloudRetroEnvFile}`;
    this.#object('Coordinator', 'Deployment', CloudRetroNames.coordinator, {
      spec: this.#deploymentSpec(
        labels,
        this.#stepBundle ? { [ANNOTATION_DEMO_SHA]: this.#stepBundle.sha256 } : {},
        [step],
        [
          {
            ...coordinator,
            // CloudRetro reads `$HOME/.cr/config.yaml` over its defaults (later releases), and
            // the same servers as CLOUD_GAME_ variables from the env file (the 2022 releases).
            command: ['sh', '-c', `set -a && . ${envFile} && set +a && exec coordinator --v=5`],
            env: [{ name: 'HOME', value: CLOUDRETRO_HOME }],
            // Restarted onto a rewritten config: the step answers 503 once after each rewrite.
            livenessProbe: {
              httpGet: { path: '/coordinator', port: stepPort, scheme: 'HTTP' },
              periodSeconds: 10,
              timeoutSeconds: 2,
              failureThreshold: 1,
            },
            volumeMounts: [{ name: 'cloudretro-config', mountPath: CONFIG_MOUNT, readOnly: true }],
          },
        ],
        Lazy.any({
          produce: () => [
            { name: 'ice-step', configMap: { name: cm, defaultMode: 0o444 } },
            { name: 'ice-step-run', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
            { name: 'cloudretro-config', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
            // the key the secondaries' ICE auth services require (only the step mounts it)
            ...(this.#secondaries.length > 0
              ? [
                  {
                    name: STEP_API_KEY_DIR,
                    secret: {
                      secretName: this.iceApiKeySecret,
                      items: [{ key: 'key', path: 'key' }],
                      // the pod has no fsGroup: readable by the step's user, and only the step mounts it
                      defaultMode: 0o444,
                    },
                  },
                ]
              : []),
          ],
        }) as unknown as unknown[],
      ),
    });
  }

  /** The ICE auth services the step asks: this cluster's, then each secondary's. */
  #iceSources(): { url: string; namespace: string; gateway: string; keyFile?: string }[] {
    return this.allDemos.map((d) => ({
      url: d === this ? this.iceAuth!.url : (d.#props.iceAuthUrl ?? '<iceAuthUrl>'),
      namespace: d.namespace,
      gateway: d.gateway.gatewayName,
      // another cluster's service answers only with the API key
      ...(d === this ? {} : { keyFile: `${STEP_API_KEY_DIR}/key` }),
    }));
  }

  /** The Secret holding cluster `i`'s inline TURN credentials for the coordinator's variables. */
  static inlineCredentialsSecretName(i: number): string {
    return `${CloudRetroNames.coordinator}-turn-credentials-${i}`;
  }

  /**
   * Props mode with inline credentials (TurnAuth.inline): the coordinator reads them from a Secret
   * rendered here (in the primary's namespace), never from a plain env value.
   */
  #inlineCredentialsSecret(d: CloudRetroDemo, i: number): void {
    const inline = d.gateway.auth?.inlineCredentials;
    if (this.iceServersFrom !== 'props' || inline === undefined) return;
    this.#object(`IceCredentials${i}`, 'Secret', CloudRetroDemo.inlineCredentialsSecretName(i), {
      type: 'Opaque',
      stringData: { username: inline['username'] ?? '', password: inline['password'] ?? '' },
    });
  }

  /** CloudRetro's ICE variables for every cluster's gateway, credentials from its Secret or the one rendered for inline ones. */
  #propsIceEnv(): IEnvVar[] {
    const env: IEnvVar[] = [];
    let i = 0;
    for (const d of this.allDemos) {
      const auth = d.gateway.auth;
      const url = `turn:${d.publicAddress ?? '<publicAddress>'}:${d.#props.port ?? DEFAULT_PORT}?transport=udp`;
      const secret =
        auth?.inlineCredentials !== undefined
          ? CloudRetroDemo.inlineCredentialsSecretName(i)
          : d.gateway.credentialsSecretName;
      const ref = (key: string) => ({ secretKeyRef: { name: secret, key } });
      env.push(
        { name: cloudRetroIceVar(i, 'URL'), value: url },
        { name: cloudRetroIceVar(i, 'URLS'), value: url },
        { name: cloudRetroIceVar(i, 'USERNAME'), valueFrom: ref('username') },
        { name: cloudRetroIceVar(i, 'CREDENTIAL'), valueFrom: ref('password') },
      );
      i++;
    }
    return env;
  }

  /** Pure: reads the props. */
  #validate(): string[] {
    const problems: string[] = [];
    const p = portProblem('port', this.#props.port ?? DEFAULT_PORT);
    if (p) problems.push(p);
    if (this.#stepError !== undefined) problems.push(this.#stepError);
    if (!this.isPrimary) {
      for (const k of ['coordinatorAddress', 'iceServersFrom', 'iceTtlSeconds', 'icePollSeconds'] as const)
        if (this.#props[k] !== undefined) problems.push(`${k} is the primary's prop; this is a secondary`);
      if (this.#props.primary!.#props.coordinatorAddress === undefined)
        problems.push(
          "the primary has no coordinatorAddress: a secondary's workers connect to the primary's coordinator through it (a DNS name or a reserved IP)",
        );
      if (this.iceServersFrom === 'ice-auth-service' && this.#props.iceAuthUrl === undefined)
        problems.push(
          "iceAuthUrl is required on a secondary when the primary's coordinator gets its ICE servers from the ICE auth services (or set iceServersFrom: 'props' on the primary)",
        );
      return problems;
    }
    const ttl = this.#props.iceTtlSeconds ?? 86400;
    if (!Number.isInteger(ttl) || ttl < 600 || ttl > 7 * 86400)
      problems.push(`iceTtlSeconds ${ttl} must be a whole number of seconds from 600 to 604800`);
    const poll = this.#props.icePollSeconds ?? DEMO_DEFAULTS.cloudRetroIcePollSeconds;
    if (!Number.isInteger(poll) || poll < 1 || poll > 3600)
      problems.push(`icePollSeconds ${poll} must be a whole number of seconds from 1 to 3600`);
    if (this.iceServersFrom === 'props') {
      for (const d of this.allDemos) {
        const where = d === this ? 'this cluster' : `secondary ${d.node.path}`;
        if (d.publicAddress === undefined)
          problems.push(
            `iceServersFrom 'props' needs the gateway's publicAddress (${where}): a reserved IP or DNS name`,
          );
        if (d.gateway.auth?.type !== 'static')
          problems.push(
            `iceServersFrom 'props' needs static TURN credentials (${where}): TurnAuth.fromSecret() or TurnAuth.inline(); ephemeral ones need iceServersFrom 'ice-auth-service'`,
          );
      }
    }
    return problems;
  }
}

/** The TCP port of a URL (its scheme's default when none is given), or undefined when unparsable. */
function urlPort(url: string | undefined): number | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    if (u.port !== '') return Number(u.port);
    return u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : undefined;
  } catch {
    return undefined;
  }
}

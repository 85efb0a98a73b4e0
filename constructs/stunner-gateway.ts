/**
 * StunnerGateway: a complete, operator-free STUN/TURN gateway. Everything STUNner's operator
 * renders while the cluster runs (dataplane config, Deployment, Service, ...) is rendered here at
 * synth time, so that the committed YAML is what runs.
 */
import { ApiObject, App, Lazy } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import {
  DEFAULT_LOGLEVEL,
  DEFAULT_MAX_ALLOCATIONS,
  DEFAULT_PORT,
  DEFAULT_REALM,
  type ListenerProtocol,
} from '../contract/config/index.js';
import { CONFIG_KEY, NODE_IMAGE } from '../contract/pod-layout.js';
import { ClusterScopedObject } from './cluster-scoped.js';
import { buildDataplaneConfig } from './gateway/dataplane-config.js';
import type { GatewayModel } from './gateway/model.js';
import { renderNetworkPolicy } from './gateway/network-policy.js';
import { renderPodSpec } from './gateway/pod.js';
import { renderService } from './gateway/service.js';
import { credentialProblems, listenerProblems } from './gateway/validation.js';
import { MediaRoute, type RoutePlan } from './media-route.js';
import { GrafanaDashboardConfigMap, StunnerPodMonitor } from './monitoring.js';
import {
  ANNOTATION_INJECTED,
  ANNOTATION_RUNTIME_SHA,
  chartNamespace,
  dns1035Problem,
  dns1123Problem,
  GATEWAY_APP,
  LABEL_COMPONENT,
  LABEL_GATEWAY_NAME,
  LABEL_GATEWAY_NAMESPACE,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  SYNC_WAVE,
  WAVE_CONFIG,
  WAVE_NAMESPACE,
} from './naming.js';
import { RUNTIME_CONFIGMAP_NAME, RuntimeConfigMap } from './runtime-bundle/runtime-config-map.js';

/** One TURN listener: a Service port, and a socket of the runtime. */
export interface GatewayListener {
  /** Listener name: a DNS label (it names the Service port). Rendered as `ns/gateway/name`. */
  readonly name: string;
  /**
   * @default 'TURN-UDP'
   */
  readonly protocol?: ListenerProtocol;
  /**
   * The port clients connect to: the Service port.
   * @default 3478
   */
  readonly port?: number;
  /**
   * The port the runtime binds in the pod (the Service's targetPort).
   * @default the same as `port`
   */
  readonly targetPort?: number;
  /**
   * NodePort, for NodePort and LoadBalancer Services.
   * @default assigned by Kubernetes
   */
  readonly nodePort?: number;
  /**
   * Name of a `kubernetes.io/tls` Secret in the gateway's namespace; required for TURN-TLS and
   * TURN-DTLS. Its certificate and key are injected into the config when the pod starts.
   * @default none
   */
  readonly tlsSecret?: string;
  /**
   * Have cert-manager issue the listener's certificate (a cert-manager.io/v1 Certificate) into
   * `tlsSecret`, which then defaults to `<gateway>-<listener>-tls`.
   * @default none: bring your own Secret
   */
  readonly certificate?: ListenerCertificate;
  /**
   * Relay (allocation) port range in the pod; also narrows the NetworkPolicy.
   * @default ports assigned by the kernel
   */
  readonly minRelayPort?: number;
  /** @default ports assigned by the kernel */
  readonly maxRelayPort?: number;
}

/** A certificate cert-manager issues for a TLS or DTLS listener. */
export interface ListenerCertificate {
  /** Name of the cert-manager Issuer or ClusterIssuer. */
  readonly issuer: string;
  /**
   * @default 'ClusterIssuer'
   */
  readonly issuerKind?: 'Issuer' | 'ClusterIssuer';
  /** DNS names clients use to reach the listener. */
  readonly dnsNames: readonly string[];
}

/** Horizontal Pod Autoscaler settings; replaces the fixed replica count. */
export interface GatewayAutoscaling {
  /** @default 1 */
  readonly minReplicas?: number;
  readonly maxReplicas: number;
  /**
   * Target average CPU utilization, in percent of the CPU request.
   * @default 70
   */
  readonly cpuUtilization?: number;
}

export interface StunnerGatewayProps {
  /**
   * Gateway name: names the Deployment, Service, ServiceAccount; `admin.name` is `ns/name`.
   * @default the construct id
   */
  readonly name?: string;
  /**
   * @default the chart's namespace, or "default"
   */
  readonly namespace?: string;
  /**
   * Also synthesize the Namespace object.
   * @default false: the namespace must exist
   */
  readonly createNamespace?: boolean;
  /**
   * TURN realm.
   * @default 'stunner.l7mp.io'
   */
  readonly realm?: string;
  /**
   * `static`: a fixed username and password. `ephemeral`: TURN REST API credentials minted from
   * a shared secret.
   * @default 'static'
   */
  readonly authType?: 'static' | 'ephemeral';
  /**
   * Inline static username; stored in a Secret the construct creates.
   * @default none: use `credentialsSecret`
   */
  readonly username?: string;
  /**
   * Inline static password; stored in a Secret the construct creates.
   * @default none: use `credentialsSecret`
   */
  readonly password?: string;
  /**
   * Inline ephemeral shared secret; stored in a Secret the construct creates.
   * @default none: use `credentialsSecret`
   */
  readonly sharedSecret?: string;
  /**
   * An existing Secret in the gateway's namespace with the keys `username` and `password`
   * (static) or `secret` (ephemeral), e.g. from sealed-secrets or external-secrets. Keeps the
   * credentials out of git.
   * @default none: inline credentials
   */
  readonly credentialsSecret?: string;
  /**
   * Accept default or guessable inline credentials (demos only).
   * @default false: synth fails on them
   */
  readonly allowWeakCredentials?: boolean;
  /**
   * Listeners; more with addListener().
   * @default none: a gateway needs at least one
   */
  readonly listeners?: readonly GatewayListener[];
  /**
   * Fixed replica count (ignored with `autoscaling`).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Scale on CPU with a HorizontalPodAutoscaler.
   * @default no autoscaler
   */
  readonly autoscaling?: GatewayAutoscaling;
  /**
   * Container resources.
   * @default STUNner's: requests 500m CPU / 128Mi, limits 2 CPU / 512Mi
   */
  readonly resources?: IResourceRequirements;
  /**
   * Runtime log level, `scope:LEVEL,...`.
   * @default 'all:INFO'
   */
  readonly logLevel?: string;
  /**
   * Allocations per user (0: unlimited).
   * @default 0
   */
  readonly userQuota?: number;
  /**
   * Concurrent allocations per pod.
   * @default 10000
   */
  readonly maxAllocations?: number;
  /**
   * Relay threads per pod (spread by the kernel with SO_REUSEPORT on Node >= 22.12, which the
   * default image has); more than one uses more than one core.
   * @default 1
   */
  readonly relayThreads?: number;
  /**
   * Health-check port (`/live`, `/ready`, `/status`), bound on the pod IP.
   * @default 8086
   */
  readonly healthPort?: number;
  /**
   * Serve Prometheus metrics at `/metrics` on `metricsPort`.
   * @default true
   */
  readonly metrics?: boolean;
  /**
   * @default 8080
   */
  readonly metricsPort?: number;
  /**
   * @default 'LoadBalancer'
   */
  readonly serviceType?: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
  /**
   * Service annotations, e.g. cloud load-balancer settings.
   * @default none
   */
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
  /**
   * `Local` keeps client source addresses and avoids a second hop.
   * @default Kubernetes' default (Cluster)
   */
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  /**
   * `ClientIP` keeps a client on one pod across its TURN connections; some clouds need `None`.
   * @default 'ClientIP'
   */
  readonly sessionAffinity?: 'ClientIP' | 'None';
  /**
   * Allow UDP and TCP ports on one LoadBalancer Service (not every cloud supports it).
   * @default false: a LoadBalancer with mixed protocols is a synth error
   */
  readonly mixedProtocolLoadBalancer?: boolean;
  /**
   * Also expose the health port on the Service, for clouds whose load-balancer health checks
   * need a TCP port (this makes a UDP gateway mixed-protocol).
   * @default false
   */
  readonly exposeHealthCheckPort?: boolean;
  /**
   * Public address (IP or DNS name) clients reach the gateway at, when known in advance;
   * written to every listener's `public_address` for the ICE auth service.
   * @default discovered at run time
   */
  readonly publicAddress?: string;
  /**
   * @default none
   */
  readonly topologySpreadConstraints?: readonly ITopologySpreadConstraint[];
  /**
   * @default none
   */
  readonly tolerations?: readonly IToleration[];
  /**
   * @default none
   */
  readonly affinity?: IAffinity;
  /**
   * @default none
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * How long a terminating pod keeps relaying its existing calls.
   * @default 3600 (STUNner's): calls drain instead of dropping
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * preStop delay, so that load balancers stop sending new clients before draining starts.
   * @default 5
   */
  readonly preStopDelaySeconds?: number;
  /**
   * PodDisruptionBudget `maxUnavailable`; `false` omits the budget.
   * @default 1
   */
  readonly maxUnavailable?: number | string | false;
  /**
   * Cluster DNS domain of Service backends.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
  /**
   * `bundle`: the runtime ships in a ConfigMap and a stock Node.js image runs it.
   * `image`: a registry image built from runtime/Dockerfile.
   * @default 'bundle'
   */
  readonly runtimeMode?: 'bundle' | 'image';
  /**
   * Container image; required in image mode.
   * @default the pinned stock Node.js image (bundle mode)
   */
  readonly image?: string;
  /**
   * @default 'IfNotPresent'
   */
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /**
   * Synth fails when the runtime ConfigMap is larger.
   * @default 943718 (90% of Kubernetes' 1 MiB ConfigMap limit)
   */
  readonly maxRuntimeConfigMapBytes?: number;
  /**
   * Synthesize a NetworkPolicy (ingress: listeners, health, metrics, routed peers; egress:
   * routed peers, DNS, the Kubernetes API).
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * Where the Kubernetes API server is, for the NetworkPolicy egress rule of the watcher.
   * @default any address, TCP ports 443 and 6443 only
   */
  readonly kubernetesApiCidrs?: readonly string[];
  /**
   * Also synthesize a prometheus-operator PodMonitor for the metrics port.
   * @default false (it needs the prometheus-operator CRDs)
   */
  readonly podMonitor?: boolean;
  /**
   * Also ship the STUNner Grafana dashboard in a ConfigMap (for the Grafana sidecar).
   * @default false
   */
  readonly grafanaDashboard?: boolean;
  /**
   * Public-address fallback to the node's ExternalIP plus the NodePort (STUNner's order: static
   * address, load-balancer ingress, then this): the watcher may read Nodes (a ClusterRole) and
   * the pod gets STUNNER_NODENAME.
   * @default true for NodePort and LoadBalancer Services (both have NodePorts), false for ClusterIP
   */
  readonly nodeAddressDiscovery?: boolean;
  /**
   * Extra labels on every object.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export const DEFAULT_HEALTH_PORT = 8086;
export const DEFAULT_METRICS_PORT = 8080;
export const DEFAULT_GRACE_PERIOD_SECONDS = 3600;
export const KUBERNETES_CONFIGMAP_LIMIT = 1024 * 1024;
export const DEFAULT_MAX_RUNTIME_CONFIGMAP_BYTES = Math.floor(KUBERNETES_CONFIGMAP_LIMIT * 0.9);

const GATEWAY = Symbol.for('stunner-gitops.StunnerGateway');

export class StunnerGateway extends Construct {
  static isStunnerGateway(x: unknown): x is StunnerGateway {
    return typeof x === 'object' && x !== null && GATEWAY in x;
  }

  /** Every StunnerGateway in the app that `scope` belongs to, in tree order. */
  static findAll(scope: IConstruct): StunnerGateway[] {
    return App.of(scope).node.findAll().filter(StunnerGateway.isStunnerGateway);
  }

  readonly gatewayName: string;
  readonly namespace: string;
  readonly createNamespace: boolean;
  readonly realm: string;
  readonly authType: 'static' | 'ephemeral';
  readonly allowWeakCredentials: boolean;
  readonly replicas: number;
  readonly autoscaling: GatewayAutoscaling | undefined;
  readonly logLevel: string;
  readonly userQuota: number;
  readonly maxAllocations: number;
  readonly relayThreads: number;
  readonly healthPort: number;
  readonly metrics: boolean;
  readonly metricsPort: number;
  readonly serviceType: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
  readonly sessionAffinity: 'ClientIP' | 'None';
  readonly mixedProtocolLoadBalancer: boolean;
  readonly exposeHealthCheckPort: boolean;
  readonly publicAddress: string | undefined;
  readonly terminationGracePeriodSeconds: number;
  readonly preStopDelaySeconds: number;
  readonly clusterDomain: string;
  readonly runtimeMode: 'bundle' | 'image';
  readonly image: string;
  readonly maxRuntimeConfigMapBytes: number;
  readonly nodeAddressDiscovery: boolean;

  /** The Service (and Deployment, ServiceAccount) name. */
  readonly serviceName: string;
  readonly serviceAccountName: string;
  /** ConfigMap with the dataplane config under key `configKey`. */
  readonly configMapName: string;
  readonly configKey = CONFIG_KEY;
  /** ConfigMap with the bootstrap and the gzipped runtime (bundle mode), shared in the namespace. */
  readonly runtimeConfigMapName: string | undefined;
  /** Secret the credentials come from: created for inline credentials, else `credentialsSecret`. */
  readonly credentialsSecretName: string;
  /** Labels that select the gateway's pods. */
  readonly selectorLabels: Readonly<Record<string, string>>;

  readonly #props: StunnerGatewayProps;
  readonly #listeners: GatewayListener[] = [];
  readonly #labels: Record<string, string>;
  readonly #bundleProblems: string[] = [];

  constructor(scope: Construct, id: string, props: StunnerGatewayProps = {}) {
    super(scope, id);
    Object.defineProperty(this, GATEWAY, { value: true });
    this.#props = props;
    this.gatewayName = props.name ?? id;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.createNamespace = props.createNamespace ?? false;
    this.realm = props.realm ?? DEFAULT_REALM;
    this.authType = props.authType ?? 'static';
    this.allowWeakCredentials = props.allowWeakCredentials ?? false;
    this.replicas = props.replicas ?? 1;
    this.autoscaling = props.autoscaling;
    this.logLevel = props.logLevel ?? DEFAULT_LOGLEVEL;
    this.userQuota = props.userQuota ?? 0;
    this.maxAllocations = props.maxAllocations ?? DEFAULT_MAX_ALLOCATIONS;
    this.relayThreads = props.relayThreads ?? 1;
    this.healthPort = props.healthPort ?? DEFAULT_HEALTH_PORT;
    this.metrics = props.metrics ?? true;
    this.metricsPort = props.metricsPort ?? DEFAULT_METRICS_PORT;
    this.serviceType = props.serviceType ?? 'LoadBalancer';
    this.sessionAffinity = props.sessionAffinity ?? 'ClientIP';
    this.mixedProtocolLoadBalancer = props.mixedProtocolLoadBalancer ?? false;
    this.exposeHealthCheckPort = props.exposeHealthCheckPort ?? false;
    this.publicAddress = props.publicAddress;
    this.terminationGracePeriodSeconds = props.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
    this.preStopDelaySeconds = props.preStopDelaySeconds ?? 5;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    this.runtimeMode = props.runtimeMode ?? 'bundle';
    this.image = props.image ?? (this.runtimeMode === 'bundle' ? NODE_IMAGE : '');
    this.maxRuntimeConfigMapBytes = props.maxRuntimeConfigMapBytes ?? DEFAULT_MAX_RUNTIME_CONFIGMAP_BYTES;
    this.nodeAddressDiscovery = props.nodeAddressDiscovery ?? this.serviceType !== 'ClusterIP';

    const name = this.gatewayName;
    this.serviceName = name;
    this.serviceAccountName = name;
    this.configMapName = `${name}-config`;
    this.runtimeConfigMapName = this.runtimeMode === 'bundle' ? RUNTIME_CONFIGMAP_NAME : undefined;
    this.credentialsSecretName = props.credentialsSecret ?? `${name}-auth`;
    this.selectorLabels = { [LABEL_NAME]: GATEWAY_APP, [LABEL_INSTANCE]: name };
    this.#labels = {
      ...props.labels,
      ...this.selectorLabels,
      [LABEL_COMPONENT]: 'gateway',
      [LABEL_MANAGED_BY]: 'cdk8s',
      [LABEL_GATEWAY_NAME]: name,
      [LABEL_GATEWAY_NAMESPACE]: this.namespace,
    };
    this.#render();
    for (const l of props.listeners ?? []) this.addListener(l);
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** Adds a listener; its name must be unique in the gateway. */
  addListener(listener: GatewayListener): this {
    const c = listener.certificate;
    if (c === undefined) {
      this.#listeners.push(listener);
      return this;
    }
    const tlsSecret = listener.tlsSecret ?? `${this.gatewayName}-${listener.name}-tls`;
    this.#listeners.push({ ...listener, tlsSecret });
    new ApiObject(this, `Certificate-${listener.name}`, {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: this.#meta(tlsSecret, { annotations: { [SYNC_WAVE]: WAVE_CONFIG } }),
      spec: {
        secretName: tlsSecret,
        dnsNames: [...c.dnsNames],
        issuerRef: { name: c.issuer, kind: c.issuerKind ?? 'ClusterIssuer', group: 'cert-manager.io' },
        usages: ['server auth', 'digital signature', 'key encipherment'],
      },
    });
    return this;
  }

  get listeners(): readonly GatewayListener[] {
    return [...this.#listeners];
  }

  get listenerNames(): string[] {
    return this.#listeners.map((l) => l.name);
  }

  /** The routes attached to this gateway and what each renders into it, in tree order. */
  routePlans(): { route: MediaRoute; plan: RoutePlan }[] {
    const out: { route: MediaRoute; plan: RoutePlan }[] = [];
    for (const c of App.of(this).node.findAll()) {
      if (!MediaRoute.isMediaRoute(c)) continue;
      const plan = c.planFor(this);
      if (plan) out.push({ route: c, plan });
    }
    return out;
  }

  /** Everything the renderers need, resolved. */
  model(): GatewayModel {
    return {
      name: this.gatewayName,
      namespace: this.namespace,
      realm: this.realm,
      authType: this.authType,
      logLevel: this.logLevel,
      userQuota: this.userQuota,
      maxAllocations: this.maxAllocations,
      relayThreads: this.relayThreads,
      healthPort: this.healthPort,
      metricsPort: this.metrics ? this.metricsPort : undefined,
      publicAddress: this.publicAddress,
      serviceType: this.serviceType,
      listeners: this.#listeners.map((l) => ({
        name: l.name,
        protocol: l.protocol ?? 'TURN-UDP',
        port: l.port ?? DEFAULT_PORT,
        targetPort: l.targetPort ?? l.port ?? DEFAULT_PORT,
        nodePort: l.nodePort,
        tlsSecret: l.tlsSecret,
        minRelayPort: l.minRelayPort,
        maxRelayPort: l.maxRelayPort,
      })),
      routes: this.routePlans().map((r) => r.plan),
      inlineCredentials: this.#inlineCredentials(),
    };
  }

  #inlineCredentials(): Record<string, string> | undefined {
    const p = this.#props;
    if (p.username === undefined && p.password === undefined && p.sharedSecret === undefined)
      return undefined;
    const out: Record<string, string> = {};
    if (p.username !== undefined) out['username'] = p.username;
    if (p.password !== undefined) out['password'] = p.password;
    if (p.sharedSecret !== undefined) out['secret'] = p.sharedSecret;
    return out;
  }

  #meta(name: string, extra: { annotations?: Record<string, string> } = {}) {
    return { name, namespace: this.namespace, labels: { ...this.#labels }, ...extra };
  }

  #render(): void {
    const ns = this.namespace;
    const configWave = { annotations: { [SYNC_WAVE]: WAVE_CONFIG } };
    if (this.createNamespace) {
      new ClusterScopedObject(this, 'Namespace', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: ns,
          labels: { ...this.#props.labels },
          annotations: { [SYNC_WAVE]: WAVE_NAMESPACE },
        },
      });
    }
    new ApiObject(this, 'ServiceAccount', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: this.#meta(this.serviceAccountName, configWave),
      automountServiceAccountToken: true,
    });

    const inline = this.#inlineCredentials();
    if (inline !== undefined) {
      new ApiObject(this, 'CredentialsSecret', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: this.#meta(this.credentialsSecretName, configWave),
        type: 'Opaque',
        stringData: inline,
      });
    }

    new ApiObject(this, 'ConfigMap', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: this.#meta(this.configMapName, {
        annotations: {
          [SYNC_WAVE]: WAVE_CONFIG,
          [ANNOTATION_INJECTED]: Lazy.any({ produce: () => this.#injectedDescription() }),
        },
      }),
      data: Lazy.any({ produce: () => ({ [CONFIG_KEY]: this.#configText() }) }),
    });

    let runtimeSha: string | undefined;
    if (this.runtimeMode === 'bundle') {
      const runtime = RuntimeConfigMap.of(this, ns);
      runtimeSha = runtime.runtime?.sha256;
      if (runtime.error !== undefined)
        this.#bundleProblems.push(`${runtime.error}\n    (or use runtimeMode 'image')`);
      else if (runtime.bytes > this.maxRuntimeConfigMapBytes) {
        this.#bundleProblems.push(
          `runtime ConfigMap "${runtime.name}" would be ${runtime.bytes} bytes (runtime ${runtime.runtime!.rawBytes} bytes, ${runtime.runtime!.gzip.byteLength} gzipped), over the limit of ${this.maxRuntimeConfigMapBytes} bytes (Kubernetes rejects ConfigMaps over ${KUBERNETES_CONFIGMAP_LIMIT}); trim the runtime's dependencies or use runtimeMode 'image'`,
        );
      }
    }

    new ApiObject(this, 'Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: this.#meta(this.gatewayName),
      spec: Lazy.any({
        produce: () => ({
          ...(this.autoscaling ? {} : { replicas: this.replicas }),
          selector: { matchLabels: { ...this.selectorLabels } },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: {
              labels: { ...this.#labels },
              ...(runtimeSha ? { annotations: { [ANNOTATION_RUNTIME_SHA]: runtimeSha } } : {}),
            },
            spec: renderPodSpec(this.model(), {
              serviceAccountName: this.serviceAccountName,
              image: this.image,
              imagePullPolicy: this.#props.imagePullPolicy ?? 'IfNotPresent',
              configMapName: this.configMapName,
              runtimeConfigMapName: this.runtimeConfigMapName,
              credentialsSecretName: this.credentialsSecretName,
              nodeName: this.nodeAddressDiscovery,
              resources: this.#props.resources,
              terminationGracePeriodSeconds: this.terminationGracePeriodSeconds,
              preStopDelaySeconds: this.preStopDelaySeconds,
              topologySpreadConstraints: this.#props.topologySpreadConstraints,
              tolerations: this.#props.tolerations,
              affinity: this.#props.affinity,
              nodeSelector: this.#props.nodeSelector,
            }),
          },
        }),
      }),
    });

    new ApiObject(this, 'Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        ...this.#meta(this.serviceName),
        ...(this.#props.serviceAnnotations ? { annotations: { ...this.#props.serviceAnnotations } } : {}),
      },
      spec: Lazy.any({
        produce: () =>
          renderService(this.model(), {
            selector: this.selectorLabels,
            sessionAffinity: this.sessionAffinity,
            externalTrafficPolicy: this.#props.externalTrafficPolicy,
            exposeHealthCheckPort: this.exposeHealthCheckPort,
          }),
      }),
    });

    if (this.autoscaling) {
      const a = this.autoscaling;
      new ApiObject(this, 'HorizontalPodAutoscaler', {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: this.#meta(this.gatewayName),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.gatewayName },
          minReplicas: a.minReplicas ?? 1,
          maxReplicas: a.maxReplicas,
          // Every pod removed drains its calls for up to the grace period: scale down slowly.
          behavior: {
            scaleDown: {
              stabilizationWindowSeconds: 600,
              policies: [{ type: 'Pods', value: 1, periodSeconds: 300 }],
            },
          },
          metrics: [
            {
              type: 'Resource',
              resource: {
                name: 'cpu',
                target: { type: 'Utilization', averageUtilization: a.cpuUtilization ?? 70 },
              },
            },
          ],
        },
      });
    }

    const maxUnavailable = this.#props.maxUnavailable ?? 1;
    if (maxUnavailable !== false) {
      new ApiObject(this, 'PodDisruptionBudget', {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: this.#meta(this.gatewayName),
        spec: { maxUnavailable, selector: { matchLabels: { ...this.selectorLabels } } },
      });
    }

    if (this.#props.networkPolicy ?? true) {
      new ApiObject(this, 'NetworkPolicy', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: this.#meta(this.gatewayName),
        spec: Lazy.any({
          produce: () =>
            renderNetworkPolicy(this.model(), {
              selector: this.selectorLabels,
              kubernetesApiCidrs: this.#props.kubernetesApiCidrs,
            }),
        }),
      });
    }

    // The watcher reads its own Service (public address) in the gateway's namespace.
    this.#watcherRole(ns, [
      {
        apiGroups: [''],
        resources: ['services'],
        resourceNames: [this.serviceName],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
    if (this.nodeAddressDiscovery) this.#nodeReader();

    if (this.#props.podMonitor) {
      new StunnerPodMonitor(this, 'PodMonitor', {
        namespace: ns,
        name: this.gatewayName,
        selectorLabels: this.selectorLabels,
        labels: { ...this.#labels },
      });
    }
    if (this.#props.grafanaDashboard) {
      new GrafanaDashboardConfigMap(this, 'GrafanaDashboard', {
        namespace: ns,
        name: `${this.gatewayName}-grafana-dashboard`,
      });
    }
  }

  /** Nodes are cluster-scoped: reading the node's ExternalIP needs a ClusterRole. */
  #nodeReader(): void {
    const name = `stunner:${this.namespace}:${this.gatewayName}:node-reader`;
    const metadata = { name, labels: { ...this.#labels }, annotations: { [SYNC_WAVE]: WAVE_CONFIG } };
    new ClusterScopedObject(this, 'NodeReaderClusterRole', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata,
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }],
    });
    new ClusterScopedObject(this, 'NodeReaderClusterRoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccountName, namespace: this.namespace }],
    });
  }

  /** Role + RoleBinding for the in-pod watcher in one namespace; idempotent. */
  #watcherRole(namespace: string, rules: object[]): void {
    const id = `Watcher-${namespace}`;
    if (this.node.tryFindChild(id)) return;
    const scope = new Construct(this, id);
    const name = `${this.namespace}-${this.gatewayName}-watcher`;
    const metadata = {
      name,
      namespace,
      labels: { ...this.#labels },
      annotations: { [SYNC_WAVE]: WAVE_CONFIG },
    };
    new ApiObject(scope, 'Role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: Lazy.any({ produce: () => [...rules, ...this.#endpointSliceRules(namespace)] }),
    });
    new ApiObject(scope, 'RoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccountName, namespace: this.namespace }],
    });
  }

  #watchNamespaces(): string[] {
    const set = new Set<string>();
    for (const r of this.routePlans()) for (const ns of r.plan.watchNamespaces) set.add(ns);
    return [...set].sort();
  }

  #endpointSliceRules(namespace: string): object[] {
    if (!this.#watchNamespaces().includes(namespace)) return [];
    return [
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    ];
  }

  #configText(): string {
    const built = buildDataplaneConfig(this.model());
    return built.text;
  }

  #injectedDescription(): string {
    const parts = [`auth.credentials from Secret ${this.credentialsSecretName}`];
    const tls = this.#listeners.filter((l) => l.tlsSecret !== undefined);
    if (tls.length > 0)
      parts.push(`cert/key of ${tls.map((l) => `listener ${l.name} from Secret ${l.tlsSecret}`).join(', ')}`);
    return parts.join('; ');
  }

  #validate(): string[] {
    // Namespaces that need watcher RBAC are known only once every route exists.
    for (const ns of this.#watchNamespaces()) if (ns !== this.namespace) this.#watcherRole(ns, []);

    const problems: string[] = [...this.#bundleProblems];
    const nameProblem = dns1035Problem(this.gatewayName, 63 - '-config'.length);
    if (nameProblem) problems.push(`gateway name ${nameProblem}`);
    const nsProblem = dns1123Problem(this.namespace);
    if (nsProblem) problems.push(`namespace ${nsProblem}`);
    const duplicates = StunnerGateway.findAll(this).filter(
      (g) => g !== this && g.gatewayName === this.gatewayName && g.namespace === this.namespace,
    );
    if (duplicates.length > 0)
      problems.push(
        `another gateway is also named "${this.namespace}/${this.gatewayName}" (${duplicates[0]!.node.path})`,
      );
    if (this.runtimeMode === 'image' && this.#props.image === undefined)
      problems.push("runtimeMode 'image' needs `image` (built from runtime/Dockerfile)");
    if (this.#props.podMonitor && !this.metrics) problems.push('podMonitor needs metrics: true');
    if (this.#props.externalTrafficPolicy !== undefined && this.serviceType === 'ClusterIP')
      problems.push('externalTrafficPolicy needs serviceType NodePort or LoadBalancer');
    if (this.autoscaling && this.autoscaling.maxReplicas < (this.autoscaling.minReplicas ?? 1))
      problems.push('autoscaling.maxReplicas is below minReplicas');
    const p = this.#props;
    problems.push(
      ...credentialProblems({
        authType: this.authType,
        username: p.username,
        password: p.password,
        sharedSecret: p.sharedSecret,
        credentialsSecret: p.credentialsSecret,
        allowWeakCredentials: this.allowWeakCredentials,
      }),
    );
    problems.push(
      ...listenerProblems({
        listeners: this.#listeners,
        serviceType: this.serviceType,
        healthPort: this.healthPort,
        metricsPort: this.metrics ? this.metricsPort : undefined,
        exposeHealthCheckPort: this.exposeHealthCheckPort,
        mixedProtocolLoadBalancer: this.mixedProtocolLoadBalancer,
      }),
    );
    if (problems.length === 0) {
      const built = buildDataplaneConfig(this.model());
      problems.push(...built.problems.map((p) => `dataplane config ${p.path || '(root)'}: ${p.message}`));
    }
    return problems;
  }
}

/**
 * StunnerGateway: a complete, operator-free STUN/TURN gateway. Everything STUNner's operator
 * renders while the cluster runs (dataplane config, Deployment, Service, ...) is rendered here at
 * synth time, so that the committed YAML is what runs.
 */
import { ApiObject, Chart, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import {
  DEFAULT_AUTH_FAILURES_PER_IP,
  DEFAULT_CLIENT_QUOTA,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_NEW_CONNECTIONS_PER_IP,
} from '../contract/config/types.js';
import {
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_HEALTHCHECK_PORT,
  DEFAULT_LOGLEVEL,
  DEFAULT_MAX_ALLOCATIONS,
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  DEFAULT_REALM,
  FALLBACK_RELAY_PORT_MAX,
  FALLBACK_RELAY_PORT_MIN,
  type LogFormat,
} from '../contract/defaults.js';
import { CONFIG_KEY } from '../contract/pod-layout.js';
import { ClusterScopedObject } from './cluster-scoped.js';
import { buildDataplaneConfig } from './gateway/dataplane-config.js';
import type { GatewayModel } from './gateway/model.js';
import { renderNetworkPolicy } from './gateway/network-policy.js';
import { renderPodSpec } from './gateway/pod.js';
import { renderService } from './gateway/service.js';
import { credentialProblems, listenerProblems } from './gateway/validation.js';
import type { GatewayListener } from './gateway-listener.js';
import { GatewayRuntime } from './gateway-runtime.js';
import { type ISecretSource, missingSecretKeys, SecretKeys } from './gitops/secrets.js';
import { SyncWave } from './gitops/sync.js';
import { warnUnpinnedImage } from './image-pin.js';
import type {
  K8sAffinity,
  K8sNetworkPolicyPeer,
  K8sResourceRequirements,
  K8sToleration,
  K8sTopologySpreadConstraint,
} from './k8s-types.js';
import { type KubernetesApiEndpoint, kubernetesApiOf, kubernetesApiProblems } from './kubernetes-api.js';
import { GrafanaDashboardConfigMap, METRICS_SCRAPER_PEER, StunnerPodMonitor } from './monitoring.js';
import { DefaultDenyPolicy, type PodSecurityLevel, podSecurityLabels } from './namespace-security.js';
import {
  ANNOTATION_INJECTED,
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
} from './naming.js';
import { NetworkPolicyObject } from './network-policy-object.js';
import { nodeFallbackNeeded, nodeReaderRbac } from './node-reader.js';
import { ArgoSyncRegistry, GatewayRegistry } from './registry.js';
import { RuntimeConfigMap } from './runtime-bundle/runtime-config-map.js';
import { type RuntimePod, runtimePod } from './runtime-pod.js';
import type { TurnAuth } from './turn-auth.js';
import type { IMediaRoute, IStunnerGateway, RoutePlan } from './types.js';
import { Warnings } from './warnings.js';

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
   * Also synthesize the Namespace object, labelled for Pod Security Admission (`podSecurity`),
   * and a default-deny NetworkPolicy in it (`defaultDeny`).
   * @default false: the namespace must exist
   */
  readonly createNamespace?: boolean;
  /**
   * The Pod Security Standard the rendered Namespace enforces (audit and warn stay at
   * `restricted`). `baseline` only for a namespace that also runs a third-party image needing it.
   * @default 'restricted'
   */
  readonly podSecurity?: PodSecurityLevel;
  /**
   * With `createNamespace`, also render the namespace's default-deny NetworkPolicy (no ingress,
   * egress only to the cluster DNS): every pod there then gets only what its own policy admits.
   * @default true
   */
  readonly defaultDeny?: boolean;
  /**
   * TURN realm.
   * @default 'stunner.l7mp.io'
   */
  readonly realm?: string;
  /**
   * How clients authenticate, and where the credentials come from:
   * `TurnAuth.fromSecret(secret)` or `TurnAuth.ephemeral(secret)`, where `secret` is the name of
   * an existing Secret or a `SealedSecret` / `ExternalSecret` of the chart (no credentials in
   * git), or `TurnAuth.inline(...)` for demos (rendered into the Secret `<name>-auth`; synth warns
   * when Argo CD syncs the chart).
   * @default none: synth fails and asks for credentials
   */
  readonly auth?: TurnAuth;
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
  readonly resources?: K8sResourceRequirements;
  /**
   * Runtime log level, `scope:LEVEL,...`.
   * @default 'all:INFO'
   */
  readonly logLevel?: string;
  /**
   * Runtime log lines: `text`, or `json` (one object per line with time, level, component,
   * message and fields) for log pipelines.
   * @default 'text'
   */
  readonly logFormat?: LogFormat;
  /**
   * Allocations per user (0: unlimited). With ephemeral (TURN REST) auth a user is the user id
   * after the expiry (`<expiry>:<user-id>` counts as `<user-id>`), so the quota holds across
   * credential refreshes; with static auth every client shares one username.
   * Renders `admin.user_quota`.
   * @default 0
   */
  readonly userQuota?: number;
  /**
   * Concurrent allocations per pod.
   * @default 10000
   */
  readonly maxAllocations?: number;
  /**
   * Allocations one client IP address may hold per relay thread, EVEN-PORT reservations included
   * (0: unlimited). Renders `admin.client_quota`.
   * @default 200
   */
  readonly clientQuota?: number;
  /**
   * Concurrent TCP/TLS connections one client IP may hold per listener (0: unlimited).
   * Renders `admin.max_connections_per_ip`.
   * @default 100
   */
  readonly maxConnectionsPerIp?: number;
  /**
   * New TCP/TLS connections per second one client IP may open per listener, in bursts of up to
   * twice that (0: unlimited). Renders `admin.new_connections_per_ip`.
   * @default 20
   */
  readonly newConnectionsPerIp?: number;
  /**
   * Failed authentications one client IP may make within 10 s of its first failure; past that its
   * TURN requests are dropped until those 10 s end, so a correct password is refused for at most
   * 10 s (0: off). Renders `admin.auth_failures_per_ip`.
   * @default 0
   */
  readonly authFailuresPerIp?: number;
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
  readonly topologySpreadConstraints?: readonly K8sTopologySpreadConstraint[];
  /**
   * @default none
   */
  readonly tolerations?: readonly K8sToleration[];
  /**
   * @default none
   */
  readonly affinity?: K8sAffinity;
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
   * What runs in the pods: `GatewayRuntime.bundle()` (the packaged runtime in a ConfigMap, run by
   * a pinned stock Node.js image) or `GatewayRuntime.image(ref)` (an image built from
   * runtime/Dockerfile).
   * @default GatewayRuntime.bundle()
   */
  readonly runtime?: GatewayRuntime;
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
   * Where the Kubernetes API server is (its own addresses and port, as pods reach it after the
   * `kubernetes` Service's DNAT), for the NetworkPolicy egress rule of the watcher.
   * @default the app's (MultiClusterApp: the cluster's `kubernetesApi`), else
   * DEFAULT_KUBERNETES_API: the private ranges 10/8, 172.16/12, 192.168/16 and fc00::/7, TCP 443
   * and 6443
   */
  readonly kubernetesApi?: KubernetesApiEndpoint;
  /**
   * @deprecated use `kubernetesApi`; these CIDRs on TCP 443 and 6443.
   * @default see `kubernetesApi`
   */
  readonly kubernetesApiCidrs?: readonly string[];
  /**
   * Who may scrape the metrics port (NetworkPolicy peers).
   * @default pods of the namespace `monitoring` (METRICS_SCRAPER_NAMESPACE)
   */
  readonly metricsFrom?: readonly K8sNetworkPolicyPeer[];
  /**
   * Who may reach the health port (`/live`, `/ready`, `/status`). The kubelet's probes and
   * `kubectl port-forward` are never subject to NetworkPolicy, so by default nobody else;
   * with `exposeHealthCheckPort`, anyone (the load balancer's checks).
   * @default none; anyone with exposeHealthCheckPort
   */
  readonly healthFrom?: readonly K8sNetworkPolicyPeer[];
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
   * address, load-balancer ingress, then this): the watcher may read every Node (a ClusterRole
   * and its binding) and the pod gets STUNNER_NODENAME. A LoadBalancer gateway needs it only
   * while its load balancer has no address (bare metal without one): turn it on there.
   * @default true only for a NodePort Service without `publicAddress` (a static address wins
   * over the fallback); false otherwise
   */
  readonly nodeAddressDiscovery?: boolean;
  /**
   * Extra labels on every object.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

const DEFAULT_GRACE_PERIOD_SECONDS = 3600;
const KUBERNETES_CONFIGMAP_LIMIT = 1024 * 1024;
const DEFAULT_MAX_RUNTIME_CONFIGMAP_BYTES = Math.floor(KUBERNETES_CONFIGMAP_LIMIT * 0.9);

const GATEWAY = Symbol.for('stunner-gitops.StunnerGateway');

export class StunnerGateway extends Construct implements IStunnerGateway {
  static isStunnerGateway(x: unknown): x is StunnerGateway {
    return typeof x === 'object' && x !== null && GATEWAY in x;
  }

  /** Gateway name: the Deployment, Service and ServiceAccount. */
  readonly gatewayName: string;
  readonly namespace: string;
  /** The Service (named like the gateway). */
  readonly serviceName: string;
  /** `<service>.<namespace>.svc.<clusterDomain>`. */
  readonly serviceDnsName: string;
  readonly serviceAccountName: string;
  /** Cluster DNS domain of Service backends. */
  readonly clusterDomain: string;
  /** ConfigMap with the dataplane config under the key `stunnerd.conf`. */
  readonly configMapName: string;
  /** Secret the credentials come from: `auth`'s Secret, or `<name>-auth` for inline credentials. */
  readonly credentialsSecretName: string;
  /** Labels that select the gateway's pods. */
  readonly selectorLabels: Readonly<Record<string, string>>;
  /** How clients authenticate (undefined: none given, which fails synth). */
  readonly auth: TurnAuth | undefined;
  /** What runs in the pods. */
  readonly runtime: GatewayRuntime;
  /** The Service's type. */
  readonly serviceType: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
  /** The static public address, when given. */
  readonly publicAddress: string | undefined;

  readonly #props: StunnerGatewayProps;
  readonly #listeners: GatewayListener[] = [];
  readonly #routes: IMediaRoute[] = [];
  readonly #watchNamespaces = new Set<string>();
  /** Backend Services the watcher reads (their ClusterIPs are peers too), by namespace. */
  readonly #watchServices = new Map<string, Set<string>>();
  readonly #labels: Record<string, string>;
  readonly #bundleProblems: string[] = [];
  readonly #serviceType: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
  readonly #nodeAddressDiscovery: boolean;

  constructor(scope: Construct, id: string, props: StunnerGatewayProps = {}) {
    super(scope, id);
    Object.defineProperty(this, GATEWAY, { value: true });
    this.#props = props;
    const name = props.name ?? id;
    this.gatewayName = name;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.clusterDomain = props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    this.auth = props.auth;
    this.runtime = props.runtime ?? GatewayRuntime.bundle();
    warnUnpinnedImage(this, 'the runtime image (GatewayRuntime)', this.runtime.image);
    this.#serviceType = props.serviceType ?? 'LoadBalancer';
    // Cluster-wide Node read only where the fallback can matter: a NodePort gateway without a static address.
    this.serviceType = this.#serviceType;
    this.publicAddress = props.publicAddress;
    this.#nodeAddressDiscovery = props.nodeAddressDiscovery ?? nodeFallbackNeeded([this]);

    this.serviceName = name;
    this.serviceDnsName = `${name}.${this.namespace}.svc.${this.clusterDomain}`;
    this.serviceAccountName = name;
    this.configMapName = `${name}-config`;
    this.credentialsSecretName = this.auth?.secretName ?? `${name}-auth`;
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
    if (this.auth?.inlineCredentials !== undefined) {
      // Inline credentials are in git once the chart is: fine for a demo, not under Argo CD.
      ArgoSyncRegistry.of(this).whenSynced(Chart.of(this), (by) =>
        Warnings.of(this).add(
          `${this.auth!.factory} puts the TURN credentials into git (Secret ${this.namespace}/${this.credentialsSecretName}), and Argo CD syncs this chart (${by}); for anything but a demo use TurnAuth.${this.auth!.type === 'static' ? 'fromSecret' : 'ephemeral'}() with a SealedSecret or an ExternalSecret`,
        ),
      );
    }
    // Last: routes waiting for this gateway's name attach now, to a complete gateway.
    GatewayRegistry.of(this).register(this);
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** Adds a listener; its name must be unique in the gateway. */
  addListener(listener: GatewayListener): this {
    const c = listener.certificate;
    if (c === undefined) {
      this.#listeners.push(listener);
      return this;
    }
    // With a certificate, tlsSecret is the Secret cert-manager writes (a source is refused in #validate).
    const tlsSecret = secretNameOf(listener.tlsSecret) ?? `${this.gatewayName}-${listener.name}-tls`;
    this.#listeners.push({ ...listener, tlsSecret: listener.tlsSecret ?? tlsSecret });
    this.#object(this, `Certificate-${listener.name}`, {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: this.#meta(tlsSecret),
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

  /**
   * The UDP port ranges its pods relay from: each listener's minRelayPort-maxRelayPort, or
   * 32768-60999 (Linux's default ephemeral range) for a listener without one, which the gateway
   * then renders on that listener whenever a headless route attaches (see FALLBACK_RELAY_PORT_MIN).
   */
  get relayPortRanges(): (readonly [number, number])[] {
    const out: (readonly [number, number])[] = [];
    for (const l of this.#listeners) {
      const r = [
        l.minRelayPort ?? FALLBACK_RELAY_PORT_MIN,
        l.maxRelayPort ?? FALLBACK_RELAY_PORT_MAX,
      ] as const;
      if (!out.some(([lo, hi]) => lo === r[0] && hi === r[1])) out.push(r);
    }
    return out;
  }

  /** Attaches a route (MediaRoute does this for its parents): its plan is rendered here. */
  addRoute(route: IMediaRoute): void {
    if (!this.#routes.includes(route)) this.#routes.push(route);
  }

  /**
   * Lets the in-pod watcher read EndpointSlices in `namespace` (a Role and RoleBinding there, or a
   * rule in the gateway's own Role). Routes call this for their Service backends' namespaces.
   */
  watchNamespace(namespace: string, services: readonly string[] = []): void {
    const names = this.#watchServices.get(namespace) ?? new Set<string>();
    this.#watchServices.set(namespace, names);
    for (const s of services) names.add(s);
    if (this.#watchNamespaces.has(namespace)) return;
    this.#watchNamespaces.add(namespace);
    if (namespace !== this.namespace) this.#watcherRole(namespace, []);
  }

  /** The attached routes' plans, in attach order. */
  #routePlans(): RoutePlan[] {
    const plans: RoutePlan[] = [];
    for (const r of this.#routes) {
      const plan = r.planFor(this);
      if (plan) plans.push(plan);
    }
    return plans;
  }

  /** Everything the renderers need, resolved. */
  #model(): GatewayModel {
    const p = this.#props;
    const routes = this.#routePlans();
    // A headless route admits only the relay ports: pin them where the kernel would pick them.
    const pin = routes.some((r) => r.relayLoop === true);
    return {
      name: this.gatewayName,
      namespace: this.namespace,
      realm: p.realm ?? DEFAULT_REALM,
      authType: this.auth?.type ?? 'static',
      logLevel: p.logLevel ?? DEFAULT_LOGLEVEL,
      logFormat: p.logFormat ?? 'text',
      userQuota: p.userQuota ?? 0,
      maxAllocations: p.maxAllocations ?? DEFAULT_MAX_ALLOCATIONS,
      clientQuota: p.clientQuota ?? DEFAULT_CLIENT_QUOTA,
      maxConnectionsPerIp: p.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP,
      newConnectionsPerIp: p.newConnectionsPerIp ?? DEFAULT_NEW_CONNECTIONS_PER_IP,
      authFailuresPerIp: p.authFailuresPerIp ?? DEFAULT_AUTH_FAILURES_PER_IP,
      relayThreads: p.relayThreads ?? 1,
      healthPort: this.#healthPort,
      metricsPort: this.#metricsPort,
      publicAddress: p.publicAddress,
      serviceType: this.#serviceType,
      listeners: this.#listeners.map((l) => ({
        name: l.name,
        protocol: l.protocol ?? 'TURN-UDP',
        port: l.port ?? DEFAULT_PORT,
        targetPort: l.targetPort ?? l.port ?? DEFAULT_PORT,
        nodePort: l.nodePort,
        tlsSecret: secretNameOf(l.tlsSecret),
        minRelayPort: l.minRelayPort ?? (pin ? FALLBACK_RELAY_PORT_MIN : undefined),
        maxRelayPort: l.maxRelayPort ?? (pin ? FALLBACK_RELAY_PORT_MAX : undefined),
      })),
      routes,
      inlineCredentials: this.auth?.inlineCredentials,
    };
  }

  get #healthPort(): number {
    return this.#props.healthPort ?? DEFAULT_HEALTHCHECK_PORT;
  }

  /** Where the API server is: the prop, the deprecated CIDRs prop, the app's, or the default. */
  get #kubernetesApi(): KubernetesApiEndpoint {
    const p = this.#props;
    const legacy =
      p.kubernetesApi === undefined && p.kubernetesApiCidrs !== undefined
        ? { cidrs: p.kubernetesApiCidrs, ports: [443, 6443] }
        : undefined;
    return kubernetesApiOf(this, p.kubernetesApi ?? legacy);
  }

  /** Undefined when metrics are off. */
  get #metricsPort(): number | undefined {
    return (this.#props.metrics ?? true) ? (this.#props.metricsPort ?? DEFAULT_METRICS_PORT) : undefined;
  }

  /** The runtime's files, volumes and command in this gateway's pod. */
  #layout(): RuntimePod {
    return runtimePod({
      runtime: this.runtime,
      configs: [
        {
          configMapName: this.configMapName,
          credentialsSecretName: this.credentialsSecretName,
          credentialKeys: this.auth?.secretKeys ?? ['username', 'password'],
          tlsSecrets: this.#listeners.flatMap((l) => {
            const secretName = secretNameOf(l.tlsSecret);
            return secretName !== undefined ? [{ listener: l.name, secretName }] : [];
          }),
        },
      ],
      relayNodeFlags: true,
      runSizeLimit: '64Mi',
    });
  }

  #meta(name: string, extra: { annotations?: Record<string, string> } = {}) {
    return { name, namespace: this.namespace, labels: { ...this.#labels }, ...extra };
  }

  /** An ApiObject annotated with the documented sync wave of its kind (SyncWave.forKind). */
  #object(scope: Construct, id: string, props: ConstructorParameters<typeof ApiObject>[2]): ApiObject {
    const o =
      props.kind === 'NetworkPolicy'
        ? new NetworkPolicyObject(scope, id, props)
        : new ApiObject(scope, id, props);
    SyncWave.applyByKind(o);
    return o;
  }

  /** The same, for a cluster-scoped kind (no namespace). */
  #clusterObject(id: string, props: ConstructorParameters<typeof ApiObject>[2]): ApiObject {
    const o = new ClusterScopedObject(this, id, props);
    SyncWave.applyByKind(o);
    return o;
  }

  #render(): void {
    const ns = this.namespace;
    const p = this.#props;
    if (p.createNamespace) {
      this.#clusterObject('Namespace', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: ns,
          labels: { ...this.#props.labels, ...podSecurityLabels(p.podSecurity ?? 'restricted') },
        },
      });
      if (p.defaultDeny ?? true)
        new DefaultDenyPolicy(this, 'DefaultDeny', { namespace: ns, labels: p.labels });
    }
    this.#object(this, 'ServiceAccount', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: this.#meta(this.serviceAccountName),
      automountServiceAccountToken: true,
    });

    const inline = this.auth?.inlineCredentials;
    if (inline !== undefined) {
      this.#object(this, 'CredentialsSecret', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: this.#meta(this.credentialsSecretName),
        type: 'Opaque',
        stringData: { ...inline },
      });
    }

    this.#object(this, 'ConfigMap', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: this.#meta(this.configMapName, {
        annotations: {
          [ANNOTATION_INJECTED]: Lazy.any({ produce: () => this.#injectedDescription() }),
        },
      }),
      data: Lazy.any({ produce: () => ({ [CONFIG_KEY]: this.#configText() }) }),
    });

    if (this.runtime.kind === 'bundle') {
      const runtime = RuntimeConfigMap.of(this, ns);
      const limit = p.maxRuntimeConfigMapBytes ?? DEFAULT_MAX_RUNTIME_CONFIGMAP_BYTES;
      if (runtime.error !== undefined)
        this.#bundleProblems.push(`${runtime.error}\n    (or use runtime: GatewayRuntime.image(...))`);
      else if (runtime.bytes > limit) {
        this.#bundleProblems.push(
          `runtime ConfigMap "${runtime.name}" would be ${runtime.bytes} bytes (runtime ${runtime.runtime!.rawBytes} bytes, ${runtime.runtime!.gzip.byteLength} gzipped), over the limit of ${limit} bytes (Kubernetes rejects ConfigMaps over ${KUBERNETES_CONFIGMAP_LIMIT}); trim the runtime's dependencies or use runtime: GatewayRuntime.image(...)`,
        );
      }
    }

    this.#object(this, 'Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: this.#meta(this.gatewayName),
      spec: Lazy.any({
        produce: () => this.#deploymentSpec(),
      }),
    });

    this.#object(this, 'Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        ...this.#meta(this.serviceName),
        ...(p.serviceAnnotations ? { annotations: { ...p.serviceAnnotations } } : {}),
      },
      spec: Lazy.any({
        produce: () =>
          renderService(this.#model(), {
            selector: this.selectorLabels,
            sessionAffinity: p.sessionAffinity ?? 'ClientIP',
            externalTrafficPolicy: p.externalTrafficPolicy,
            exposeHealthCheckPort: p.exposeHealthCheckPort ?? false,
          }),
      }),
    });

    if (p.autoscaling) {
      const a = p.autoscaling;
      this.#object(this, 'HorizontalPodAutoscaler', {
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

    const maxUnavailable = p.maxUnavailable ?? 1;
    if (maxUnavailable !== false) {
      this.#object(this, 'PodDisruptionBudget', {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: this.#meta(this.gatewayName),
        spec: { maxUnavailable, selector: { matchLabels: { ...this.selectorLabels } } },
      });
    }

    if (p.networkPolicy ?? true) {
      this.#object(this, 'NetworkPolicy', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: this.#meta(this.gatewayName),
        spec: Lazy.any({
          produce: () =>
            renderNetworkPolicy(this.#model(), {
              selector: this.selectorLabels,
              kubernetesApi: this.#kubernetesApi,
              metricsFrom: p.metricsFrom ?? [METRICS_SCRAPER_PEER],
              healthFrom: p.healthFrom ?? (p.exposeHealthCheckPort ? undefined : []),
            }),
        }),
      });
    }

    // The watcher reads its own Service (public address) in the gateway's namespace; the backend
    // Services of its routes are added per namespace in #watcherRole.
    this.#watcherRole(ns, []);
    if (this.#nodeAddressDiscovery)
      nodeReaderRbac(
        this,
        { namespace: this.namespace, name: this.gatewayName, serviceAccountName: this.serviceAccountName },
        this.#labels,
      );

    if (p.podMonitor) {
      SyncWave.applyByKind(
        new StunnerPodMonitor(this, 'PodMonitor', {
          namespace: ns,
          name: this.gatewayName,
          selectorLabels: this.selectorLabels,
          labels: { ...this.#labels },
        }),
      );
    }
    if (p.grafanaDashboard) {
      SyncWave.applyByKind(
        new GrafanaDashboardConfigMap(this, 'GrafanaDashboard', {
          namespace: ns,
          name: `${this.gatewayName}-grafana-dashboard`,
        }),
      );
    }
  }

  #deploymentSpec(): object {
    const p = this.#props;
    const layout = this.#layout();
    const annotations = layout.annotations;
    return {
      ...(p.autoscaling ? {} : { replicas: p.replicas ?? 1 }),
      selector: { matchLabels: { ...this.selectorLabels } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: { ...this.#labels },
          ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        },
        spec: renderPodSpec(this.#model(), {
          serviceAccountName: this.serviceAccountName,
          layout,
          imagePullPolicy: p.imagePullPolicy ?? 'IfNotPresent',
          nodeName: this.#nodeAddressDiscovery,
          resources: p.resources,
          terminationGracePeriodSeconds: p.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS,
          preStopDelaySeconds: p.preStopDelaySeconds ?? 5,
          topologySpreadConstraints: p.topologySpreadConstraints,
          tolerations: p.tolerations,
          affinity: p.affinity,
          nodeSelector: p.nodeSelector,
        }),
      },
    };
  }

  /** Role + RoleBinding for the in-pod watcher in one namespace; idempotent. */
  #watcherRole(namespace: string, rules: object[]): void {
    const id = `Watcher-${namespace}`;
    if (this.node.tryFindChild(id)) return;
    const scope = new Construct(this, id);
    const name = `${this.namespace}-${this.gatewayName}-watcher`;
    const metadata = { name, namespace, labels: { ...this.#labels } };
    this.#object(scope, 'Role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: Lazy.any({
        produce: () => [...rules, ...this.#serviceRules(namespace), ...this.#endpointSliceRules(namespace)],
      }),
    });
    this.#object(scope, 'RoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: this.serviceAccountName, namespace: this.namespace }],
    });
  }

  /** Services the watcher reads in `namespace`, by name: its own, and its routes' backends. */
  #serviceRules(namespace: string): object[] {
    const names = new Set(this.#watchServices.get(namespace) ?? []);
    if (namespace === this.namespace) names.add(this.serviceName);
    if (names.size === 0) return [];
    // The watcher lists and watches by metadata.name: it never GETs.
    return [
      {
        apiGroups: [''],
        resources: ['services'],
        resourceNames: [...names].sort(),
        verbs: ['list', 'watch'],
      },
    ];
  }

  #endpointSliceRules(namespace: string): object[] {
    if (!this.#watchNamespaces.has(namespace)) return [];
    return [{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] }];
  }

  #configText(): string {
    return buildDataplaneConfig(this.#model()).text;
  }

  #injectedDescription(): string {
    const parts = [`auth.credentials from Secret ${this.credentialsSecretName}`];
    const tls = this.#listeners.filter((l) => l.tlsSecret !== undefined);
    if (tls.length > 0)
      parts.push(
        `cert/key of ${tls.map((l) => `listener ${l.name} from Secret ${secretNameOf(l.tlsSecret)}`).join(', ')}`,
      );
    return parts.join('; ');
  }

  /**
   * The SealedSecrets and ExternalSecrets (ISecretSources) the auth and the TLS listeners name:
   * each must produce the keys the pod mounts, in the gateway's namespace, in the same app.
   */
  #secretSourceProblems(): string[] {
    const problems: string[] = [];
    const check = (what: string, source: ISecretSource, keys: readonly string[], fix: string) => {
      const missing = missingSecretKeys(source, keys);
      if (missing) problems.push(`${what}: ${missing}, which the pod mounts; ${fix}`);
      if (source.secretNamespace !== this.namespace)
        problems.push(
          `${what}: Secret ${source.secretNamespace}/${source.secretName} is in another namespace than the gateway ("${this.namespace}"); a pod can mount only its own namespace's Secrets`,
        );
      if (isConstruct(source) && source.node.root !== this.node.root)
        problems.push(
          `${what}: ${source.node.path} is rendered by another app (another cluster's directory): render the Secret where the gateway runs`,
        );
    };
    const source = this.auth?.secretSource;
    if (source !== undefined) {
      const keys = this.auth!.type === 'static' ? SecretKeys.TURN_STATIC : SecretKeys.TURN_EPHEMERAL;
      check(
        `auth (${this.auth!.factory})`,
        source,
        keys,
        `give it ${keys.join(' and ')} (static credentials need username and password, ephemeral ones the shared secret under "secret")`,
      );
    }
    this.#listeners.forEach((l, i) => {
      const at = `listener "${l.name}" (listeners[${i}]) tlsSecret`;
      if (l.tlsSecret === undefined || typeof l.tlsSecret === 'string') return;
      if (l.certificate !== undefined) {
        problems.push(
          `${at}: with a certificate, cert-manager writes the Secret; give tlsSecret as a name, or leave it out`,
        );
        return;
      }
      check(
        at,
        l.tlsSecret,
        SecretKeys.TLS,
        'a TLS Secret needs tls.crt and tls.key (type kubernetes.io/tls)',
      );
    });
    return problems;
  }

  /** Pure: reads the gateway and its routes, creates nothing. */
  #validate(): string[] {
    const p = this.#props;
    const problems: string[] = [...this.#bundleProblems];
    const nameProblem = dns1035Problem(this.gatewayName, 63 - '-config'.length);
    if (nameProblem) problems.push(`gateway name ${nameProblem}`);
    const nsProblem = dns1123Problem(this.namespace);
    if (nsProblem) problems.push(`namespace ${nsProblem}`);
    const duplicates = GatewayRegistry.of(this)
      .find(this.namespace, this.gatewayName)
      .filter((g) => g !== this);
    if (duplicates.length > 0)
      problems.push(
        `another gateway is also named "${this.namespace}/${this.gatewayName}" (${duplicates[0]!.node.path})`,
      );
    if (this.runtime.image === '')
      problems.push(
        'the runtime has no image; GatewayRuntime.image() needs one built from runtime/Dockerfile',
      );
    if (p.podMonitor && this.#metricsPort === undefined) problems.push('podMonitor needs metrics: true');
    if (p.networkPolicy ?? true) problems.push(...kubernetesApiProblems(this.#kubernetesApi));
    if (p.externalTrafficPolicy !== undefined && this.#serviceType === 'ClusterIP')
      problems.push('externalTrafficPolicy needs serviceType NodePort or LoadBalancer');
    if (p.autoscaling && p.autoscaling.maxReplicas < (p.autoscaling.minReplicas ?? 1))
      problems.push('autoscaling.maxReplicas is below minReplicas');
    problems.push(...credentialProblems(this.auth, p.allowWeakCredentials ?? false));
    problems.push(...this.#secretSourceProblems());
    problems.push(
      ...listenerProblems({
        listeners: this.#listeners,
        serviceType: this.#serviceType,
        healthPort: this.#healthPort,
        metricsPort: this.#metricsPort,
        exposeHealthCheckPort: p.exposeHealthCheckPort ?? false,
        mixedProtocolLoadBalancer: p.mixedProtocolLoadBalancer ?? false,
      }),
    );
    if (problems.length === 0) {
      const built = buildDataplaneConfig(this.#model());
      problems.push(...built.problems.map((x) => `dataplane config ${x.path || '(root)'}: ${x.message}`));
    }
    return problems;
  }
}

/** The Secret name of a reference: the name itself, or the source's Secret. */
function secretNameOf(secret: string | ISecretSource | undefined): string | undefined {
  return typeof secret === 'string' ? secret : secret?.secretName;
}

function isConstruct(x: unknown): x is Construct {
  return typeof x === 'object' && x !== null && Construct.isConstruct(x);
}

/**
 * StunnerGateway: a complete, operator-free STUN/TURN gateway. Everything STUNner's operator
 * renders while the cluster runs (dataplane config, Deployment, Service, ...) is rendered here at
 * synth time, so that the committed YAML is what runs.
 *
 * The gateway resolves its props into one model (model.ts) and composes one small construct per
 * object (rbac.ts, dataplane-config.ts, workload.ts, service.ts, network-policy.ts, secrets.ts),
 * each rendering from the model; validation (validation.ts) reads the model too.
 */
import { type ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import {
  DEFAULT_AUTH_FAILURES_PER_IP,
  DEFAULT_CLIENT_QUOTA,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_NEW_CONNECTIONS_PER_IP,
} from '../../contract/config/types.js';
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
} from '../../contract/defaults.js';
import { gatewayLabels, gatewaySelectorLabels } from '../../contract/labels.js';
import { STATIC_AUTH_KEYS } from '../../contract/secret-keys.js';
import { renderObject } from '../core/api-object.js';
import { warnUnpinnedImage } from '../core/image-pin.js';
import type { ServiceType } from '../core/k8s-types.js';
import { DefaultDenyPolicy, podSecurityLabels } from '../core/namespace-security.js';
import { chartNamespace } from '../core/naming.js';
import { nodeFallbackNeeded, nodeReaderRbac } from '../core/node-reader.js';
import { ArgoSyncRegistry } from '../core/registry.js';
import type { ISecretSource } from '../core/secrets.js';
import { SyncWave } from '../core/sync-wave.js';
import { Warnings } from '../core/warnings.js';
import { workloadKubernetesApi } from '../core/workload.js';
import { GatewayRuntime } from '../runtime-bundle/gateway-runtime.js';
import { RuntimeConfigMap } from '../runtime-bundle/runtime-config-map.js';
import { type RuntimePod, runtimePod } from '../runtime-bundle/runtime-pod.js';
import { DataplaneConfigMap } from './dataplane-config.js';
import { ImportedGateway } from './imported-gateway.js';
import type { GatewayListener } from './listener.js';
import type { GatewayModel, GatewaySettings } from './model.js';
import { GrafanaDashboardConfigMap, METRICS_SCRAPER_PEER, StunnerPodMonitor } from './monitoring.js';
import { GatewayNetworkPolicy } from './network-policy.js';
import type { StunnerGatewayProps } from './props.js';
import { GatewayServiceAccount, WatcherRbac } from './rbac.js';
import { GatewayRegistry } from './registry.js';
import { InlineCredentialsSecret, ListenerCertificateObject } from './secrets.js';
import { GatewayService } from './service.js';
import type { TurnAuth } from './turn-auth.js';
import type { IMediaRoute, IStunnerGateway, RoutePlan } from './types.js';
import { gatewayProblems } from './validation.js';
import { GatewayAutoscaler, GatewayDeployment, GatewayDisruptionBudget } from './workload.js';

const DEFAULT_GRACE_PERIOD_SECONDS = 3600;
const KUBERNETES_CONFIGMAP_LIMIT = 1024 * 1024;
const DEFAULT_MAX_RUNTIME_CONFIGMAP_BYTES = Math.floor(KUBERNETES_CONFIGMAP_LIMIT * 0.9);

const GATEWAY = Symbol.for('stunner-gitops.StunnerGateway');

export class StunnerGateway extends Construct implements IStunnerGateway {
  static isStunnerGateway(x: unknown): x is StunnerGateway {
    return typeof x === 'object' && x !== null && GATEWAY in x;
  }

  /**
   * The StunnerGateway `namespace/name` of this app, as a construct at `scope/id` that routes,
   * the ICE auth service and smoke tests take like the gateway itself: it is bound to the gateway
   * whether that is created before or after it, in any chart of the app. Synth fails with the
   * gateways the app has when none ever takes the name.
   */
  static fromGatewayName(scope: Construct, id: string, namespace: string, name: string): IStunnerGateway {
    return new ImportedGateway(scope, id, namespace, name);
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
  readonly serviceType: ServiceType;
  /** The static public address, when given. */
  readonly publicAddress: string | undefined;

  // Escape hatches: the rendered objects, for what the props do not cover (e.g.
  // `gateway.deployment.addJsonPatch(JsonPatch.add(...))`, `gateway.service.metadata.addLabel()`).
  // Their specs render at synth time, from the gateway's listeners and routes.
  /** The ServiceAccount. */
  readonly serviceAccount: ApiObject;
  /** The Secret `<name>-auth` of inline credentials; undefined for credentials from a Secret. */
  readonly credentialsSecret: ApiObject | undefined;
  /** The ConfigMap with the dataplane config. */
  readonly configMap: ApiObject;
  /** The Deployment. */
  readonly deployment: ApiObject;
  /** The Service. */
  readonly service: ApiObject;
  /** The HorizontalPodAutoscaler; undefined without `autoscaling`. */
  readonly autoscaler: ApiObject | undefined;
  /** The PodDisruptionBudget; undefined with `maxUnavailable: false`. */
  readonly podDisruptionBudget: ApiObject | undefined;
  /** The NetworkPolicy; undefined with `networkPolicy: false`. */
  readonly networkPolicy: ApiObject | undefined;

  readonly #base: GatewaySettings;
  readonly #listeners: GatewayListener[] = [];
  readonly #certificates: ApiObject[] = [];
  readonly #routes: IMediaRoute[] = [];
  readonly #watchNamespaces = new Set<string>();
  /** Backend Services the watcher reads (their ClusterIPs are peers too), by namespace. */
  readonly #watchServices = new Map<string, Set<string>>();
  readonly #bundleProblems: string[] = [];

  constructor(scope: Construct, id: string, props: StunnerGatewayProps = {}) {
    super(scope, id);
    Object.defineProperty(this, GATEWAY, { value: true });
    const name = props.name ?? id;
    this.gatewayName = name;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.clusterDomain = props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    this.auth = props.auth;
    this.runtime = props.runtime ?? GatewayRuntime.bundle();
    warnUnpinnedImage(this, 'the runtime image (GatewayRuntime)', this.runtime.image);
    this.serviceType = props.serviceType ?? 'LoadBalancer';
    this.publicAddress = props.publicAddress;
    this.serviceName = name;
    this.serviceDnsName = `${name}.${this.namespace}.svc.${this.clusterDomain}`;
    this.serviceAccountName = name;
    this.configMapName = `${name}-config`;
    this.credentialsSecretName = this.auth?.secretName ?? `${name}-auth`;
    this.selectorLabels = gatewaySelectorLabels(name);
    this.#base = this.#resolve(props);
    const m = this.#base;
    const model = () => this.#model();

    // One construct per object, in the order they are written to the chart's file.
    if (props.createNamespace) {
      renderObject(this, 'Namespace', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: this.namespace,
          labels: { ...props.labels, ...podSecurityLabels(props.podSecurity ?? 'restricted') },
        },
      });
      if (props.defaultDeny ?? true)
        new DefaultDenyPolicy(this, 'DefaultDeny', { namespace: this.namespace, labels: props.labels });
    }
    this.serviceAccount = new GatewayServiceAccount(this, 'ServiceAccount', m).apiObject;
    const inline = this.auth?.inlineCredentials;
    this.credentialsSecret =
      inline !== undefined
        ? new InlineCredentialsSecret(this, 'CredentialsSecret', m, inline).apiObject
        : undefined;
    this.configMap = new DataplaneConfigMap(this, 'ConfigMap', model).apiObject;
    if (this.runtime.kind === 'bundle') this.#checkBundle(m.maxRuntimeConfigMapBytes);
    this.deployment = new GatewayDeployment(this, 'Deployment', model, () => this.#layout()).apiObject;
    this.service = new GatewayService(this, 'Service', model).apiObject;
    this.autoscaler = m.autoscaling
      ? new GatewayAutoscaler(this, 'HorizontalPodAutoscaler', m, m.autoscaling).apiObject
      : undefined;
    this.podDisruptionBudget =
      m.maxUnavailable !== false
        ? new GatewayDisruptionBudget(this, 'PodDisruptionBudget', m, m.maxUnavailable).apiObject
        : undefined;
    this.networkPolicy = m.networkPolicy
      ? new GatewayNetworkPolicy(this, 'NetworkPolicy', model, m.networkPolicy).apiObject
      : undefined;
    // The watcher reads its own Service (public address) in the gateway's namespace; the backend
    // Services of its routes are added per namespace in #watcherRole.
    this.#watcherRole(this.namespace);
    if (m.nodeAddressDiscovery)
      nodeReaderRbac(
        this,
        { namespace: this.namespace, name, serviceAccountName: this.serviceAccountName },
        m.labels,
      );
    if (m.podMonitor) {
      SyncWave.applyByKind(
        new StunnerPodMonitor(this, 'PodMonitor', {
          namespace: this.namespace,
          name,
          selectorLabels: this.selectorLabels,
          labels: { ...m.labels },
        }),
      );
    }
    if (m.grafanaDashboard) {
      SyncWave.applyByKind(
        new GrafanaDashboardConfigMap(this, 'GrafanaDashboard', {
          namespace: this.namespace,
          name: `${name}-grafana-dashboard`,
        }),
      );
    }

    for (const l of props.listeners ?? []) this.addListener(l);
    if (inline !== undefined) {
      // Inline credentials are in git once the chart is: fine for a demo, not under Argo CD.
      ArgoSyncRegistry.of(this).whenSynced(Chart.of(this), (by) =>
        Warnings.of(this).add(
          `${this.auth!.factory} puts the TURN credentials into git (Secret ${this.namespace}/${this.credentialsSecretName}), and Argo CD syncs this chart (${by}); for anything but a demo use TurnAuth.${this.auth!.type === 'static' ? 'fromSecret' : 'ephemeral'}() with a SealedSecret or an ExternalSecret`,
        ),
      );
    }
    // Last: references waiting for this gateway's name bind now, to a complete gateway.
    GatewayRegistry.of(this).register(this);
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** Adds a listener; its name must be unique in the gateway. */
  addListener(listener: GatewayListener): void {
    const c = listener.certificate;
    if (c === undefined) {
      this.#listeners.push(listener);
      return;
    }
    // With a certificate, tlsSecret is the Secret cert-manager writes (a source is refused in validation).
    const tlsSecret = secretNameOf(listener.tlsSecret) ?? `${this.gatewayName}-${listener.name}-tls`;
    this.#listeners.push({ ...listener, tlsSecret: listener.tlsSecret ?? tlsSecret });
    const id = `Certificate-${listener.name}`;
    this.#certificates.push(new ListenerCertificateObject(this, id, this.#base, tlsSecret, c).apiObject);
  }

  get listeners(): readonly GatewayListener[] {
    return [...this.#listeners];
  }

  get listenerNames(): string[] {
    return this.#listeners.map((l) => l.name);
  }

  /** The cert-manager Certificates of the listeners that have a `certificate`, in listener order. */
  get certificates(): readonly ApiObject[] {
    return [...this.#certificates];
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

  /** @internal */
  _whenBound(bind: (gateway: IStunnerGateway) => void): void {
    bind(this);
  }

  /**
   * Attaches a route (MediaRoute does this for its parents): its plan is rendered here.
   * @internal
   */
  _addRoute(route: IMediaRoute): void {
    if (!this.#routes.includes(route)) this.#routes.push(route);
  }

  /**
   * Lets the in-pod watcher read EndpointSlices in `namespace` (a Role and RoleBinding there, or a
   * rule in the gateway's own Role). Routes call this for their Service backends' namespaces.
   * @internal
   */
  _watchNamespace(namespace: string, services: readonly string[] = []): void {
    const names = this.#watchServices.get(namespace) ?? new Set<string>();
    this.#watchServices.set(namespace, names);
    for (const s of services) names.add(s);
    if (this.#watchNamespaces.has(namespace)) return;
    this.#watchNamespaces.add(namespace);
    if (namespace !== this.namespace) this.#watcherRole(namespace);
  }

  /** Every prop with its default applied: what does not change after construction. */
  #resolve(p: StunnerGatewayProps): GatewaySettings {
    const metricsPort = (p.metrics ?? true) ? (p.metricsPort ?? DEFAULT_METRICS_PORT) : undefined;
    const a = p.autoscaling;
    const networkPolicy = p.networkPolicy ?? true;
    const exposeHealthCheckPort = p.exposeHealthCheckPort ?? false;
    return {
      name: this.gatewayName,
      namespace: this.namespace,
      labels: { ...p.labels, ...gatewayLabels(this.gatewayName, this.namespace) },
      selectorLabels: this.selectorLabels,
      serviceName: this.serviceName,
      serviceAccountName: this.serviceAccountName,
      configMapName: this.configMapName,
      credentialsSecretName: this.credentialsSecretName,
      auth: this.auth,
      allowWeakCredentials: p.allowWeakCredentials ?? false,
      runtime: this.runtime,
      maxRuntimeConfigMapBytes: p.maxRuntimeConfigMapBytes ?? DEFAULT_MAX_RUNTIME_CONFIGMAP_BYTES,
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
      healthPort: p.healthPort ?? DEFAULT_HEALTHCHECK_PORT,
      metricsPort,
      publicAddress: p.publicAddress,
      inlineCredentials: this.auth?.inlineCredentials,
      replicas: a ? undefined : (p.replicas ?? 1),
      autoscaling: a
        ? {
            minReplicas: a.minReplicas ?? 1,
            maxReplicas: a.maxReplicas,
            cpuUtilization: a.cpuUtilization ?? 70,
          }
        : undefined,
      maxUnavailable: p.maxUnavailable ?? 1,
      resources: p.resources,
      imagePullPolicy: p.imagePullPolicy ?? 'IfNotPresent',
      terminationGracePeriodSeconds: p.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS,
      preStopDelaySeconds: p.preStopDelaySeconds ?? 5,
      scheduling: {
        topologySpreadConstraints: p.topologySpreadConstraints,
        tolerations: p.tolerations,
        affinity: p.affinity,
        nodeSelector: p.nodeSelector,
      },
      // Cluster-wide Node read only where the fallback can matter: a NodePort gateway without a static address.
      nodeAddressDiscovery: p.nodeAddressDiscovery ?? nodeFallbackNeeded([this]),
      serviceType: this.serviceType,
      serviceAnnotations: p.serviceAnnotations,
      sessionAffinity: p.sessionAffinity ?? 'ClientIP',
      externalTrafficPolicy: p.externalTrafficPolicy,
      exposeHealthCheckPort,
      mixedProtocolLoadBalancer: p.mixedProtocolLoadBalancer ?? false,
      networkPolicy: networkPolicy
        ? {
            kubernetesApi: workloadKubernetesApi(this, p),
            metricsFrom: p.metricsFrom ?? [METRICS_SCRAPER_PEER],
            healthFrom: p.healthFrom ?? (exposeHealthCheckPort ? undefined : []),
          }
        : undefined,
      podMonitor: p.podMonitor ?? false,
      grafanaDashboard: p.grafanaDashboard ?? false,
    };
  }

  /** Everything the renderers and validation need, resolved. */
  #model(): GatewayModel {
    const routes = this.#routePlans();
    // A headless route admits only the relay ports: pin them where the kernel would pick them.
    const pin = routes.some((r) => r.relayLoop === true);
    return {
      ...this.#base,
      declaredListeners: [...this.#listeners],
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
    };
  }

  /** The attached routes' plans, in attach order. */
  #routePlans(): RoutePlan[] {
    const plans: RoutePlan[] = [];
    for (const r of this.#routes) {
      const plan = r._planFor(this);
      if (plan) plans.push(plan);
    }
    return plans;
  }

  /** The namespace's runtime ConfigMap (created on first use): its problems fail synth. */
  #checkBundle(limit: number): void {
    const runtime = RuntimeConfigMap.of(this, this.namespace);
    if (runtime.error !== undefined)
      this.#bundleProblems.push(`${runtime.error}\n    (or use runtime: GatewayRuntime.image(...))`);
    else if (runtime.bytes > limit) {
      this.#bundleProblems.push(
        `runtime ConfigMap "${runtime.name}" would be ${runtime.bytes} bytes (runtime ${runtime.runtime!.rawBytes} bytes, ${runtime.runtime!.gzip.byteLength} gzipped), over the limit of ${limit} bytes (Kubernetes rejects ConfigMaps over ${KUBERNETES_CONFIGMAP_LIMIT}); trim the runtime's dependencies or use runtime: GatewayRuntime.image(...)`,
      );
    }
  }

  /** The runtime's files, volumes and command in this gateway's pod. */
  #layout(): RuntimePod {
    return runtimePod({
      runtime: this.runtime,
      configs: [
        {
          configMapName: this.configMapName,
          credentialsSecretName: this.credentialsSecretName,
          credentialKeys: this.auth?.secretKeys ?? [...STATIC_AUTH_KEYS],
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

  /** The watcher's Role and RoleBinding in one namespace; idempotent. */
  #watcherRole(namespace: string): void {
    const id = `Watcher-${namespace}`;
    if (this.node.tryFindChild(id)) return;
    new WatcherRbac(this, id, this.#base, namespace, () => [
      ...this.#serviceRules(namespace),
      ...this.#endpointSliceRules(namespace),
    ]);
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

  /** Pure: reads the gateway's model and its routes, creates nothing. */
  #validate(): string[] {
    const duplicate = GatewayRegistry.of(this)
      .find(this.namespace, this.gatewayName)
      .find((g) => g !== this);
    return gatewayProblems(this.#model(), {
      bundleProblems: this.#bundleProblems,
      duplicatePath: duplicate?.node.path,
      root: this.node.root,
    });
  }
}

/** The Secret name of a reference: the name itself, or the source's Secret. */
function secretNameOf(secret: string | ISecretSource | undefined): string | undefined {
  return typeof secret === 'string' ? secret : secret?.secretName;
}

/** The props of a StunnerGateway: what STUNner's Gateway, GatewayConfig and Dataplane say. */
import type { K8sNetworkPolicyPeer, K8sResourceRequirements, ServiceType } from '../core/k8s-types.js';
import type { PodSecurityLevel } from '../core/namespace-security.js';
import type { WorkloadProps } from '../core/workload.js';
import type { GatewayRuntime } from '../runtime-bundle/gateway-runtime.js';
import type { GatewayListener } from './listener.js';
import type { TurnAuth } from './turn-auth.js';

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

export interface StunnerGatewayProps extends WorkloadProps {
  /**
   * Gateway name: names the Deployment, Service, ServiceAccount; `admin.name` is `ns/name`.
   * @default the construct id
   */
  readonly name?: string;
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
  readonly serviceType?: ServiceType;
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
   * What runs in the pods: `GatewayRuntime.bundle()` (the packaged runtime in a ConfigMap, run by
   * a pinned stock Node.js image) or `GatewayRuntime.image(ref)` (the image `npm run image`
   * builds, by digest).
   * @default GatewayRuntime.bundle()
   */
  readonly runtime?: GatewayRuntime;
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
}

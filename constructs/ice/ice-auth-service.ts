/**
 * IceAuthService: the ICE auth service (`stunnerd auth`) for a set of StunnerGateways. Application
 * servers ask it for an RTCPeerConnection configuration (`GET /ice`) and hand that to browsers.
 *
 * It runs the gateways' own runtime (their runtime ConfigMap, or their image) through the same
 * bootstrap, which merges each gateway's credentials Secret into its mounted dataplane config.
 * It mounts no TLS keys, and may only read the gateways' Services (for their public addresses).
 * Pods can mount only ConfigMaps and Secrets of their own namespace, so the gateways it serves
 * must live in its namespace.
 *
 * Who may ask: its answers are TURN credentials, so its NetworkPolicy admits only the callers
 * named (`allowFrom`, `allowClients()`); with none named, any source only when an API key is
 * required (`apiKeySecret`), else none (the kubelet's probes come from the node, which a
 * NetworkPolicy always admits). Any source without a key is `allowAnySource`, with a synth
 * warning. Credentials live at most `maxTtl` (one day by default).
 */
import { type ApiObject, type ApiObjectProps, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { dns1035Problem, dns1123Problem, isDnsName, isPort } from '../../contract/checks.js';
import {
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP,
  DEFAULT_ICE_AUTH_MAX_TTL,
  DEFAULT_ICE_AUTH_PORT,
  DEFAULT_LOGLEVEL,
  ICE_AUTH_MAX_CONNECTIONS,
  ICE_AUTH_TTL_LIMIT,
} from '../../contract/defaults.js';
import { ipFamily } from '../../contract/ip-literal.js';
import { appLabels, appSelectorLabels } from '../../contract/labels.js';
import { RuntimeEnv } from '../../contract/pod-env.js';
import { POD_WORKDIR } from '../../contract/pod-layout.js';
import { ownedMetadata, renderObject } from '../core/api-object.js';
import {
  type K8sNetworkPolicyPeer,
  type K8sResourceRequirements,
  plainResources,
} from '../core/k8s-types.js';
import {
  type KubernetesApiEndpoint,
  kubernetesApiEgress,
  kubernetesApiProblems,
} from '../core/kubernetes-api.js';
import { chartNamespace } from '../core/naming.js';
import { nodeReaderRbac } from '../core/node-reader.js';
import { containerSecurityContext, healthProbes, podSecurityContext } from '../core/pod-security.js';
import { schedulingSpec } from '../core/scheduling.js';
import { Warnings } from '../core/warnings.js';
import { type WorkloadProps, workloadKubernetesApi } from '../core/workload.js';
import type { IStunnerGateway } from '../gateway/types.js';
import { RuntimeConfigMap } from '../runtime-bundle/runtime-config-map.js';
import { type RuntimePod, runtimePod } from '../runtime-bundle/runtime-pod.js';

const ICE_AUTH_APP = 'stunner-auth';

/** Small: the service answers a few JSON requests per call setup. */
const DEFAULT_ICE_AUTH_RESOURCES = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

export interface IceAuthServiceProps extends WorkloadProps {
  /**
   * Names the Deployment, Service, ServiceAccount and Role.
   * @default 'stunner-auth'
   */
  readonly name?: string;
  /**
   * Gateways to answer for; more with addGateway().
   * @default none: at least one is required
   */
  readonly gateways?: readonly IStunnerGateway[];
  /**
   * HTTP port of the service (`/ice`, `/`, `/live`, `/ready`).
   * @default 8088
   */
  readonly port?: number;
  /**
   * Follow each gateway's public address from its Service status (load-balancer ingress), with a
   * Role that may read only those Services. Without it, answers use each gateway's static
   * `publicAddress` (or 404 while none is known).
   * @default true
   */
  readonly watchServices?: boolean;
  /**
   * @default requests 50m CPU / 64Mi, limits 500m CPU / 256Mi
   */
  readonly resources?: K8sResourceRequirements;
  /**
   * Synthesize a NetworkPolicy: ingress only on the HTTP port; egress only to the Kubernetes API
   * (when watching Services).
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * Who may ask for credentials: NetworkPolicy peers (e.g. the application servers' pods); more
   * with allowClients().
   * @default none named: only the kubelet's probes, or any source when `apiKeySecret` is set
   */
  readonly allowFrom?: readonly K8sNetworkPolicyPeer[];
  /**
   * Admit any pod or address that can reach the Service, without an API key: anyone there can
   * mint TURN credentials. Synthesizes with a warning (none with `apiKeySecret`).
   * @default false
   */
  readonly allowAnySource?: boolean;
  /**
   * Longest lifetime of a minted credential, in seconds: a longer `ttl` request gets this (the
   * answer's expiry says so). At most a year.
   * @default 86400 (one day, STUNner's default ttl)
   */
  readonly maxTtl?: number;
  /**
   * Connections one client IP may hold open; more are closed at accept. Every connection must
   * send a complete request within 5 s.
   * @default 64
   */
  readonly maxConnectionsPerIp?: number;
  /**
   * Where the Kubernetes API server is, for the NetworkPolicy egress rule (its own addresses and
   * ports, as pods reach it after the `kubernetes` Service's DNAT).
   * @default the cluster's (`GitOpsCluster.kubernetesApi`), else DEFAULT_KUBERNETES_API: the
   * private ranges, TCP 443 and 6443
   */
  readonly kubernetesApi?: KubernetesApiEndpoint;
  /**
   * Cluster DNS domain, for `url`.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
  /**
   * Public address (IP or DNS name) to put in every answer's TURN URIs (`STUNNER_PUBLIC_ADDR`),
   * e.g. the DNS name clients use; a request's `public-addr` parameter still overrides it.
   * @default each gateway's own public address
   */
  readonly publicAddress?: string;
  /**
   * Require the TURN REST API key: a Secret in the service's namespace whose key `key` holds it;
   * requests without `key=<that value>` get 401. STUNner's service accepts and ignores `key`.
   * With a key and no callers named, the NetworkPolicy admits any source: the key decides.
   * @default no key required
   */
  readonly apiKeySecret?: string;
  /**
   * When a gateway's Service has no load-balancer address, answer with a node's ExternalIP and the
   * NodePort (STUNner's fallback). Reading Nodes needs a ClusterRole, which this renders.
   * @default false: load-balancer and static addresses only
   */
  readonly nodeAddressDiscovery?: boolean;
}

/** Where the API key Secret is mounted, relative to the container's working directory. */
const API_KEY_DIR = 'api-key';

export class IceAuthService extends Construct {
  /** The Service (and Deployment, ServiceAccount, Role). */
  readonly serviceName: string;
  readonly namespace: string;
  /** The HTTP port (`/ice`). */
  readonly port: number;
  /** Labels that select the service's pods. */
  readonly selectorLabels: Readonly<Record<string, string>>;

  readonly #props: IceAuthServiceProps;
  readonly #gateways: IStunnerGateway[] = [];
  readonly #clients: K8sNetworkPolicyPeer[] = [];
  readonly #labels: Record<string, string>;
  readonly #watchServices: boolean;
  readonly #clusterDomain: string;

  constructor(scope: Construct, id: string, props: IceAuthServiceProps = {}) {
    super(scope, id);
    this.#props = props;
    this.serviceName = props.name ?? ICE_AUTH_APP;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.port = props.port ?? DEFAULT_ICE_AUTH_PORT;
    this.#watchServices = props.watchServices ?? true;
    this.#clusterDomain = props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    const app = { name: ICE_AUTH_APP, instance: this.serviceName };
    this.selectorLabels = appSelectorLabels(app);
    this.#labels = { ...props.labels, ...appLabels({ ...app, component: 'ice-auth' }) };
    for (const g of props.gateways ?? []) this.addGateway(g);
    this.#render();
    if (props.allowAnySource && props.apiKeySecret === undefined && (props.networkPolicy ?? true))
      Warnings.of(this).add(
        `allowAnySource: any pod or address that reaches Service ${this.namespace}/${this.serviceName} can mint TURN credentials; name the callers (allowFrom, allowClients()) or require an API key (apiKeySecret)`,
      );
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** Answers for one more gateway. */
  addGateway(gateway: IStunnerGateway): void {
    if (!this.#gateways.includes(gateway)) this.#gateways.push(gateway);
    // This pod mounts the namespace's runtime ConfigMap: synth checks Argo CD syncs its file too.
    if (gateway.runtime.kind === 'bundle') RuntimeConfigMap.of(this, this.namespace);
  }

  /**
   * Admits more callers to the NetworkPolicy, e.g. an application server's pods:
   * `allowClients({ podSelector: { matchLabels: server.selectorLabels } })`.
   */
  allowClients(...peers: K8sNetworkPolicyPeer[]): void {
    this.#clients.push(...peers);
  }

  /** The callers admitted by name (allowFrom, then allowClients()). */
  get clients(): readonly K8sNetworkPolicyPeer[] {
    return [...(this.#props.allowFrom ?? []), ...this.#clients];
  }

  get gateways(): readonly IStunnerGateway[] {
    return [...this.#gateways];
  }

  /** In-cluster URL of the service, for application servers (e.g. getIceConfig({ url })). */
  get url(): string {
    return `http://${this.serviceName}.${this.namespace}.svc.${this.#clusterDomain}:${this.port}`;
  }

  #meta(name: string) {
    return ownedMetadata({ namespace: this.namespace, labels: this.#labels }, name);
  }

  #object(id: string, props: ApiObjectProps): ApiObject {
    return renderObject(this, id, props);
  }

  #render(): void {
    const name = this.serviceName;
    this.#object('ServiceAccount', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: this.#meta(name),
      automountServiceAccountToken: this.#watchServices,
    });

    if (this.#watchServices) {
      this.#object('Role', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: this.#meta(name),
        // Only the served gateways' Services, and only reads (list/watch by metadata.name selector).
        rules: Lazy.any({
          produce: () => [
            {
              apiGroups: [''],
              resources: ['services'],
              resourceNames: this.#gateways.map((g) => g.serviceName).sort(),
              verbs: ['list', 'watch'], // by metadata.name: the watch never GETs
            },
          ],
        }),
      });
      this.#object('RoleBinding', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: this.#meta(name),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: this.namespace }],
      });
    }
    if (this.#watchServices && this.#props.nodeAddressDiscovery)
      nodeReaderRbac(
        this,
        { namespace: this.namespace, name: this.serviceName, serviceAccountName: this.serviceName },
        this.#labels,
      );

    this.#object('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: this.#meta(name),
      spec: Lazy.any({
        produce: () => ({
          replicas: this.#props.replicas ?? 1,
          selector: { matchLabels: { ...this.selectorLabels } },
          template: this.#podTemplate(),
        }),
      }),
    });

    this.#object('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: this.#meta(name),
      spec: {
        type: 'ClusterIP',
        selector: { ...this.selectorLabels },
        ports: [{ name: 'http', port: this.port, targetPort: 'http', protocol: 'TCP' }],
      },
    });

    if (this.#props.networkPolicy ?? true) {
      const api = workloadKubernetesApi(this, this.#props);
      this.#object('NetworkPolicy', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: this.#meta(name),
        spec: {
          podSelector: { matchLabels: { ...this.selectorLabels } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: Lazy.any({ produce: () => this.#ingress() }),
          egress: this.#watchServices ? [kubernetesApiEgress(api)] : [],
        },
      });
    }
  }

  /** Named callers; else any source with an API key or when opted in; else none (node traffic only). */
  #ingress(): object[] {
    const ports = [{ protocol: 'TCP', port: this.port }];
    const clients = this.clients;
    if (this.#props.allowAnySource) return [{ ports }];
    if (clients.length > 0) return [{ from: clients.map((p) => JSON.parse(JSON.stringify(p))), ports }];
    return this.#props.apiKeySecret !== undefined ? [{ ports }] : [];
  }

  /** The runtime's layout in this pod: every gateway's config and credentials, in a directory named after it. */
  #layout(): RuntimePod | undefined {
    const first = this.#gateways[0];
    if (first === undefined) return undefined;
    return runtimePod({
      runtime: first.runtime,
      // Only the auth keys of each gateway's credentials Secret: never its TLS keys.
      configs: this.#gateways.map((g) => ({
        configMapName: g.configMapName,
        credentialsSecretName: g.credentialsSecretName,
        credentialKeys: g.auth?.secretKeys ?? [],
      })),
      dirs: this.#gateways.map((g) => g.gatewayName),
      relayNodeFlags: false,
      runSizeLimit: '16Mi',
    });
  }

  #podTemplate(): { metadata: object; spec: IPodSpec } {
    const layout = this.#layout();
    const annotations = layout?.annotations ?? {};
    return {
      metadata: {
        labels: { ...this.#labels },
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
      spec: this.#podSpec(layout),
    };
  }

  /** The command line: the bootstrap merges each gateway's credentials into its config. */
  #args(layout: RuntimePod): string[] {
    const args = [...layout.bootstrapArgs, 'auth', ...layout.configPaths.flatMap((c) => ['-c', c])];
    args.push('--port', String(this.port), '--log', this.#props.logLevel ?? DEFAULT_LOGLEVEL);
    if (this.#watchServices) args.push('--watch-services');
    if (this.#watchServices && this.#props.nodeAddressDiscovery) args.push('--node-address-fallback');
    if (this.#props.apiKeySecret !== undefined) args.push('--api-key-file', `${API_KEY_DIR}/key`);
    if (this.#props.maxTtl !== undefined) args.push('--max-ttl', String(this.#props.maxTtl));
    if (this.#props.maxConnectionsPerIp !== undefined)
      args.push('--max-connections-per-ip', String(this.#props.maxConnectionsPerIp));
    if (this.#props.logFormat === 'json') args.push('--log-format', 'json');
    return args;
  }

  #podSpec(layout: RuntimePod | undefined): IPodSpec {
    return {
      serviceAccountName: this.serviceName,
      automountServiceAccountToken: this.#watchServices,
      enableServiceLinks: false,
      securityContext: podSecurityContext(),
      containers: [
        {
          name: 'stunner-auth',
          image: layout?.image ?? '',
          imagePullPolicy: this.#props.imagePullPolicy ?? 'IfNotPresent',
          ...(layout !== undefined
            ? { workingDir: layout.workingDir, command: layout.command, args: this.#args(layout) }
            : {}),
          ports: [{ name: 'http', containerPort: this.port, protocol: 'TCP' }],
          ...healthProbes('http'),
          resources:
            this.#props.resources !== undefined
              ? plainResources(this.#props.resources)
              : DEFAULT_ICE_AUTH_RESOURCES,
          securityContext: containerSecurityContext(),
          ...(this.#props.publicAddress !== undefined
            ? { env: [{ name: RuntimeEnv.PUBLIC_ADDR, value: this.#props.publicAddress }] }
            : {}),
          ...(layout !== undefined
            ? { volumeMounts: [...layout.volumeMounts, ...this.#apiKeyMounts()] }
            : {}),
        },
      ],
      ...(layout !== undefined ? { volumes: [...layout.volumes, ...this.#apiKeyVolumes()] } : {}),
      ...schedulingSpec(this.#props),
    };
  }

  #apiKeyMounts() {
    if (this.#props.apiKeySecret === undefined) return [];
    return [{ name: API_KEY_DIR, mountPath: `${POD_WORKDIR}/${API_KEY_DIR}`, readOnly: true }];
  }

  #apiKeyVolumes() {
    const secretName = this.#props.apiKeySecret;
    if (secretName === undefined) return [];
    return [
      { name: API_KEY_DIR, secret: { secretName, items: [{ key: 'key', path: 'key' }], defaultMode: 0o440 } },
    ];
  }

  /** Pure: reads the service and its gateways, creates nothing. */
  #validate(): string[] {
    const problems: string[] = [];
    const why = dns1035Problem(this.serviceName);
    if (why) problems.push(`name ${why}`);
    if (!isPort(this.port)) problems.push(`port ${this.port} is not a valid port`);
    const key = this.#props.apiKeySecret;
    if (key !== undefined) {
      const bad = dns1123Problem(key);
      if (bad) problems.push(`apiKeySecret ${bad}`);
    }
    const pub = this.#props.publicAddress;
    if (pub !== undefined && ipFamily(pub) === 0 && !isDnsName(pub))
      problems.push(`publicAddress "${pub}" is neither an IP address nor a DNS name`);
    if (this.#props.kubernetesApi !== undefined)
      problems.push(...kubernetesApiProblems(this.#props.kubernetesApi));
    if (this.#props.nodeAddressDiscovery && !this.#watchServices)
      problems.push("nodeAddressDiscovery needs watchServices: the fallback follows the gateways' Services");
    const maxTtl = this.#props.maxTtl ?? DEFAULT_ICE_AUTH_MAX_TTL;
    if (!Number.isInteger(maxTtl) || maxTtl < 1 || maxTtl > ICE_AUTH_TTL_LIMIT)
      problems.push(`maxTtl ${maxTtl} is not a whole number of seconds from 1 to ${ICE_AUTH_TTL_LIMIT}`);
    const perIp = this.#props.maxConnectionsPerIp ?? DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP;
    if (!Number.isInteger(perIp) || perIp < 1 || perIp > ICE_AUTH_MAX_CONNECTIONS)
      problems.push(
        `maxConnectionsPerIp ${perIp} is not a whole number from 1 to ${ICE_AUTH_MAX_CONNECTIONS}`,
      );
    if (this.#props.allowAnySource && this.clients.length > 0)
      problems.push(
        'allowAnySource admits every source, so the callers named by allowFrom or allowClients() would mean nothing; give one or the other',
      );
    const replicas = this.#props.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 0)
      problems.push(`replicas ${replicas} is not a whole number of pods`);
    if (this.#gateways.length === 0)
      problems.push('the ICE auth service serves no gateway; pass gateways or call addGateway()');
    for (const g of this.#gateways) {
      if (g.namespace !== this.namespace)
        problems.push(
          `gateway "${g.namespace}/${g.gatewayName}" is in another namespace than the auth service ("${this.namespace}"); a pod can mount only its own namespace's ConfigMaps and Secrets, so put them in one namespace`,
        );
    }
    const first = this.#gateways[0];
    for (const g of this.#gateways.slice(1)) {
      if (!g.runtime.sameAs(first!.runtime))
        problems.push(
          `gateway "${g.gatewayName}" runs a different runtime (${g.runtime}) than "${first!.gatewayName}" (${first!.runtime}), whose runtime the auth service uses`,
        );
    }
    return problems;
  }
}

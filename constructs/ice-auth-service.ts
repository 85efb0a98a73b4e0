/**
 * IceAuthService: the ICE auth service (`stunnerd auth`) for a set of StunnerGateways. Application
 * servers ask it for an RTCPeerConnection configuration (`GET /ice`) and hand that to browsers.
 *
 * It runs the gateways' own runtime (their runtime ConfigMap, or their image) through the same
 * bootstrap, which merges each gateway's credentials Secret into its mounted dataplane config.
 * It mounts no TLS keys, and may only read the gateways' Services (for their public addresses).
 * Pods can mount only ConfigMaps and Secrets of their own namespace, so the gateways it serves
 * must live in its namespace.
 */
import { ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IVolumeProjection } from 'kubernetes-models/v1/VolumeProjection';
import { DEFAULT_LOGLEVEL } from '../contract/config/index.js';
import {
  BOOTSTRAP_FILE,
  CONFIG_DIR,
  CONFIG_KEY,
  POD_WORKDIR,
  RUN_DIR,
  RUNTIME_DIR,
  SECRETS_DIR,
} from '../contract/pod-layout.js';
import {
  chartNamespace,
  dns1035Problem,
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_NAME,
} from './naming.js';
import { containerSecurityContext, healthProbes, podSecurityContext } from './pod-security.js';
import { packagedRuntime } from './runtime-bundle/packaged-runtime.js';
import { StunnerGateway } from './stunner-gateway.js';

export const DEFAULT_ICE_AUTH_PORT = 8088;
export const ICE_AUTH_APP = 'stunner-auth';

/** Small: the service answers a few JSON requests per call setup. */
export const DEFAULT_ICE_AUTH_RESOURCES: IResourceRequirements = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

export interface IceAuthServiceProps {
  /**
   * Names the Deployment, Service, ServiceAccount and Role.
   * @default 'stunner-auth'
   */
  readonly name?: string;
  /**
   * Must be the namespace of every gateway served (pods mount only their own namespace's Secrets).
   * @default the chart's namespace, or "default"
   */
  readonly namespace?: string;
  /**
   * Gateways to answer for; more with addGateway().
   * @default none: at least one is required
   */
  readonly gateways?: readonly StunnerGateway[];
  /**
   * HTTP port of the service (`/ice`, `/`, `/live`, `/ready`).
   * @default 8088
   */
  readonly port?: number;
  /**
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Follow each gateway's public address from its Service status (load-balancer ingress), with a
   * Role that may read only those Services. Without it, answers use each gateway's static
   * `publicAddress` (or 404 while none is known).
   * @default true
   */
  readonly watchServices?: boolean;
  /**
   * Log levels, `scope:LEVEL,...`.
   * @default 'all:INFO'
   */
  readonly logLevel?: string;
  /**
   * @default requests 50m CPU / 64Mi, limits 500m CPU / 256Mi
   */
  readonly resources?: IResourceRequirements;
  /**
   * Synthesize a NetworkPolicy: ingress only on the HTTP port; egress only to the Kubernetes API
   * (when watching Services).
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * Who may ask for credentials: NetworkPolicy peers (e.g. the application servers' pods). The
   * answers carry TURN credentials, so narrow this to the callers that need them.
   * @default any pod or address that can reach the Service
   */
  readonly allowFrom?: readonly INetworkPolicyPeer[];
  /**
   * Where the Kubernetes API server is, for the NetworkPolicy egress rule.
   * @default any address, TCP ports 443 and 6443 only
   */
  readonly kubernetesApiCidrs?: readonly string[];
  /**
   * Cluster DNS domain, for `url`.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
  /**
   * Extra labels on every object.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export class IceAuthService extends Construct {
  readonly serviceName: string;
  readonly namespace: string;
  readonly port: number;
  readonly replicas: number;
  readonly watchServices: boolean;
  readonly logLevel: string;
  readonly clusterDomain: string;
  /** Labels that select the service's pods. */
  readonly selectorLabels: Readonly<Record<string, string>>;

  readonly #props: IceAuthServiceProps;
  readonly #gateways: StunnerGateway[] = [];
  readonly #labels: Record<string, string>;

  constructor(scope: Construct, id: string, props: IceAuthServiceProps = {}) {
    super(scope, id);
    this.#props = props;
    this.serviceName = props.name ?? ICE_AUTH_APP;
    this.namespace = props.namespace ?? chartNamespace(this);
    this.port = props.port ?? DEFAULT_ICE_AUTH_PORT;
    this.replicas = props.replicas ?? 1;
    this.watchServices = props.watchServices ?? true;
    this.logLevel = props.logLevel ?? DEFAULT_LOGLEVEL;
    this.clusterDomain = props.clusterDomain ?? 'cluster.local';
    this.selectorLabels = { [LABEL_NAME]: ICE_AUTH_APP, [LABEL_INSTANCE]: this.serviceName };
    this.#labels = {
      ...props.labels,
      ...this.selectorLabels,
      [LABEL_COMPONENT]: 'ice-auth',
      [LABEL_MANAGED_BY]: 'cdk8s',
    };
    for (const g of props.gateways ?? []) this.addGateway(g);
    this.#render();
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** Answers for one more gateway. */
  addGateway(gateway: StunnerGateway): this {
    if (!this.#gateways.includes(gateway)) this.#gateways.push(gateway);
    return this;
  }

  get gateways(): readonly StunnerGateway[] {
    return [...this.#gateways];
  }

  /** In-cluster URL of the service, for application servers (e.g. getIceConfig({ url })). */
  get url(): string {
    return `http://${this.serviceName}.${this.namespace}.svc.${this.clusterDomain}:${this.port}`;
  }

  #meta(name: string) {
    return { name, namespace: this.namespace, labels: { ...this.#labels } };
  }

  #render(): void {
    const name = this.serviceName;
    new ApiObject(this, 'ServiceAccount', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: this.#meta(name),
      automountServiceAccountToken: this.watchServices,
    });

    if (this.watchServices) {
      new ApiObject(this, 'Role', {
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
              verbs: ['get', 'list', 'watch'],
            },
          ],
        }),
      });
      new ApiObject(this, 'RoleBinding', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: this.#meta(name),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: this.namespace }],
      });
    }

    new ApiObject(this, 'Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: this.#meta(name),
      spec: Lazy.any({
        produce: () => ({
          replicas: this.replicas,
          selector: { matchLabels: { ...this.selectorLabels } },
          template: {
            metadata: { labels: { ...this.#labels }, ...this.#podAnnotations() },
            spec: this.#podSpec(),
          },
        }),
      }),
    });

    new ApiObject(this, 'Service', {
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
      const apiCidrs = this.#props.kubernetesApiCidrs ?? ['0.0.0.0/0', '::/0'];
      new ApiObject(this, 'NetworkPolicy', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: this.#meta(name),
        spec: {
          podSelector: { matchLabels: { ...this.selectorLabels } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [
            {
              ...(this.#props.allowFrom !== undefined ? { from: [...this.#props.allowFrom] } : {}),
              ports: [{ protocol: 'TCP', port: this.port }],
            },
          ],
          egress: this.watchServices
            ? [
                {
                  to: apiCidrs.map((cidr) => ({ ipBlock: { cidr } })),
                  ports: [
                    { protocol: 'TCP', port: 443 },
                    { protocol: 'TCP', port: 6443 },
                  ],
                },
              ]
            : [],
        },
      });
    }
  }

  /** Directory of a gateway's files under config/ and secrets/. */
  #dirOf(g: StunnerGateway): string {
    return g.gatewayName;
  }

  #podAnnotations(): { annotations?: Record<string, string> } {
    const g = this.#gateways[0];
    if (g === undefined || g.runtimeMode !== 'bundle') return {};
    try {
      return { annotations: { 'stunner.l7mp.io/runtime-sha256': packagedRuntime().sha256 } };
    } catch {
      return {}; // the gateway reports the bundling failure
    }
  }

  /** The command line: the bootstrap merges each gateway's credentials into its config. */
  #args(): string[] {
    const args = ['--run', RUN_DIR];
    const configs: string[] = [];
    for (const g of this.#gateways) {
      const config = `${CONFIG_DIR}/${this.#dirOf(g)}/${CONFIG_KEY}`;
      args.push('--inject', `${config}=${SECRETS_DIR}/${this.#dirOf(g)}`);
      configs.push('-c', config);
    }
    args.push('--', 'auth', ...configs, '--port', String(this.port), '--log', this.logLevel);
    if (this.watchServices) args.push('--watch-services');
    return args;
  }

  #podSpec(): IPodSpec {
    const first = this.#gateways[0];
    const configSources: IVolumeProjection[] = this.#gateways.map((g) => ({
      configMap: {
        name: g.configMapName,
        items: [{ key: g.configKey, path: `${this.#dirOf(g)}/${CONFIG_KEY}` }],
      },
    }));
    // Only the auth keys of each gateway's credentials Secret: never its TLS keys.
    const secretSources: IVolumeProjection[] = this.#gateways.map((g) => ({
      secret: {
        name: g.credentialsSecretName,
        items: (g.authType === 'static' ? ['username', 'password'] : ['secret']).map((k) => ({
          key: k,
          path: `${this.#dirOf(g)}/auth/${k}`,
        })),
      },
    }));
    const runtimeConfigMap = first?.runtimeMode === 'bundle' ? first.runtimeConfigMapName : undefined;
    const mount = (volume: string, dir: string, readOnly: boolean) => ({
      name: volume,
      mountPath: `${POD_WORKDIR}/${dir}`,
      readOnly,
    });
    return {
      serviceAccountName: this.serviceName,
      automountServiceAccountToken: this.watchServices,
      enableServiceLinks: false,
      securityContext: podSecurityContext(),
      containers: [
        {
          name: 'stunner-auth',
          image: first?.image ?? '',
          imagePullPolicy: 'IfNotPresent',
          workingDir: POD_WORKDIR,
          command: ['node', `${RUNTIME_DIR}/${BOOTSTRAP_FILE}`],
          args: this.#args(),
          ports: [{ name: 'http', containerPort: this.port, protocol: 'TCP' }],
          ...healthProbes('http'),
          resources: this.#props.resources ?? DEFAULT_ICE_AUTH_RESOURCES,
          securityContext: containerSecurityContext(),
          volumeMounts: [
            ...(runtimeConfigMap !== undefined ? [mount('runtime', RUNTIME_DIR, true)] : []),
            mount('config', CONFIG_DIR, true),
            mount('secrets', SECRETS_DIR, true),
            mount('run', RUN_DIR, false),
            { name: 'tmp', mountPath: '/tmp', readOnly: false },
          ],
        },
      ],
      volumes: [
        ...(runtimeConfigMap !== undefined
          ? [{ name: 'runtime', configMap: { name: runtimeConfigMap, defaultMode: 0o444 } }]
          : []),
        { name: 'config', projected: { sources: configSources, defaultMode: 0o444 } },
        { name: 'secrets', projected: { sources: secretSources, defaultMode: 0o440 } },
        { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
      ],
    };
  }

  #validate(): string[] {
    const problems: string[] = [];
    const why = dns1035Problem(this.serviceName);
    if (why) problems.push(`name ${why}`);
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535)
      problems.push(`port ${this.port} is not a valid port`);
    if (!Number.isInteger(this.replicas) || this.replicas < 0)
      problems.push(`replicas ${this.replicas} is not a whole number of pods`);
    if (this.#gateways.length === 0)
      problems.push('the ICE auth service serves no gateway; pass gateways or call addGateway()');
    for (const g of this.#gateways) {
      if (!StunnerGateway.isStunnerGateway(g)) {
        problems.push(`${String(g)} is not a StunnerGateway`);
        continue;
      }
      if (g.namespace !== this.namespace)
        problems.push(
          `gateway "${g.namespace}/${g.gatewayName}" is in another namespace than the auth service ("${this.namespace}"); a pod can mount only its own namespace's ConfigMaps and Secrets, so put them in one namespace`,
        );
    }
    const first = this.#gateways[0];
    for (const g of this.#gateways.slice(1)) {
      if (g.runtimeMode !== first!.runtimeMode || g.image !== first!.image)
        problems.push(
          `gateway "${g.gatewayName}" runs a different runtime (${g.runtimeMode} ${g.image}) than "${first!.gatewayName}" (${first!.runtimeMode} ${first!.image}), whose runtime the auth service uses`,
        );
    }
    return problems;
  }
}

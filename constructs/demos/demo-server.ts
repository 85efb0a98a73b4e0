/**
 * One of our demo servers (demo-servers/), shipped the way the runtime is: its prebuilt bundle in
 * a ConfigMap (`<name>-server`, with the readable bootstrap) and run by the pinned stock Node.js
 * image, plus a Service. Hardened like the runtime pods. Internal: the demo constructs use it.
 */
import { Construct } from 'constructs';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import { isPort } from '../../contract/checks.js';
import {
  DEMO_BOOTSTRAP_FILE,
  DEMO_BUNDLE_DIR,
  DEMO_BUNDLE_FILE,
  DEMO_RUN_DIR,
  DEMO_WORKDIR,
  DemoEnv,
  type DemoServerName,
  demoCommand,
} from '../../contract/demo-layout.js';
import { ANNOTATION_DEMO_SHA, appLabels, appSelectorLabels } from '../../contract/labels.js';
import { NODE_IMAGE } from '../../contract/pod-layout.js';
import { renderObject } from '../core/api-object.js';
import { warnUnpinnedImage } from '../core/image-pin.js';
import type { K8sNetworkPolicyPeer, ServiceType } from '../core/k8s-types.js';
import { containerSecurityContext, podSecurityContext } from '../core/pod-security.js';
import { SyncWave } from '../core/sync-wave.js';
import { type PackagedDemo, packagedDemo } from '../runtime-bundle/packaged-demos.js';
import { type DemoPolicyRule, renderDemoNetworkPolicy } from './demo-parts.js';

/** The component label of every demo object (Deployments and Services sync in the demos wave). */
export const DEMO_COMPONENT = 'demo';

export interface DemoPort {
  readonly name: string;
  /** Service port. */
  readonly port: number;
  /** What the server binds. */
  readonly containerPort: number;
  readonly protocol: 'TCP' | 'UDP';
}

export interface DemoServerProps {
  readonly server: DemoServerName;
  /** Names the ConfigMap (`<name>-server`), Deployment and Service. */
  readonly name: string;
  readonly namespace: string;
  readonly ports: readonly DemoPort[];
  readonly env: Readonly<Record<string, string>>;
  /** HTTP servers answer /live and /ready on this port name. */
  readonly httpProbePort?: string;
  readonly serviceType: ServiceType;
  readonly image: string;
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Who may reach its ports (its NetworkPolicy's ingress peers).
   * @default anyone: a page browsers open (kubelet probes and port-forwards never need a rule)
   */
  readonly ingressFrom?: readonly K8sNetworkPolicyPeer[];
  /** What it may reach, besides the cluster DNS (its namespace's default deny admits that). */
  readonly egress: readonly DemoPolicyRule[];
}

/** Labels that select a demo server's pods. */
export function demoSelector(server: DemoServerName, name: string): Record<string, string> {
  return appSelectorLabels({ name: server, instance: name });
}

export class DemoServer extends Construct {
  readonly name: string;
  readonly namespace: string;
  readonly selectorLabels: Readonly<Record<string, string>>;
  readonly configMapName: string;
  /** The shipped server, or undefined when it cannot be read (the validation says why). */
  readonly bundle: PackagedDemo | undefined;
  readonly #error: string | undefined;

  constructor(scope: Construct, id: string, props: DemoServerProps) {
    super(scope, id);
    warnUnpinnedImage(this, `the ${props.name} server's image prop`, props.image);
    this.name = props.name;
    this.namespace = props.namespace;
    this.configMapName = `${props.name}-server`;
    this.selectorLabels = demoSelector(props.server, props.name);
    try {
      this.bundle = packagedDemo(props.server);
    } catch (e) {
      this.#error = e instanceof Error ? e.message : String(e);
    }
    const labels = {
      ...props.labels,
      ...appLabels({ name: props.server, instance: props.name, component: DEMO_COMPONENT }),
    };
    const meta = (name: string) => ({ name, namespace: this.namespace, labels: { ...labels } });

    renderObject(
      this,
      'ConfigMap',
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: meta(this.configMapName),
        data: { [DEMO_BOOTSTRAP_FILE]: this.bundle?.bootstrap ?? '' },
        binaryData: this.bundle ? { [DEMO_BUNDLE_FILE]: this.bundle.gzip.toString('base64') } : {},
      },
      SyncWave.CONFIG_AND_SECRETS,
    );

    const { command, args } = demoCommand();
    const env: IEnvVar[] = [
      { name: DemoEnv.POD_IP, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      ...Object.entries(props.env)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => ({ name, value })),
    ];
    const probe = (path: string) =>
      props.httpProbePort !== undefined
        ? {
            httpGet: { path, port: props.httpProbePort, scheme: 'HTTP' },
            periodSeconds: 10,
            timeoutSeconds: 2,
          }
        : undefined;
    renderObject(
      this,
      'Deployment',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta(this.name),
        spec: {
          replicas: 1,
          selector: { matchLabels: { ...this.selectorLabels } },
          template: {
            metadata: {
              labels: { ...labels },
              ...(this.bundle ? { annotations: { [ANNOTATION_DEMO_SHA]: this.bundle.sha256 } } : {}),
            },
            spec: {
              enableServiceLinks: false,
              automountServiceAccountToken: false,
              securityContext: podSecurityContext(),
              containers: [
                {
                  name: props.server,
                  image: props.image,
                  imagePullPolicy: 'IfNotPresent',
                  workingDir: DEMO_WORKDIR,
                  command,
                  args,
                  env,
                  ports: props.ports.map((p) => ({
                    name: p.name,
                    containerPort: p.containerPort,
                    protocol: p.protocol,
                  })),
                  ...(props.httpProbePort !== undefined
                    ? { livenessProbe: probe('/live'), readinessProbe: probe('/ready') }
                    : {}),
                  resources: {
                    requests: { cpu: '20m', memory: '32Mi' },
                    limits: { cpu: '500m', memory: '128Mi' },
                  },
                  securityContext: containerSecurityContext(),
                  volumeMounts: [
                    { name: 'bundle', mountPath: `${DEMO_WORKDIR}/${DEMO_BUNDLE_DIR}`, readOnly: true },
                    { name: 'run', mountPath: `${DEMO_WORKDIR}/${DEMO_RUN_DIR}`, readOnly: false },
                    { name: 'tmp', mountPath: '/tmp', readOnly: false },
                  ],
                },
              ],
              volumes: [
                { name: 'bundle', configMap: { name: this.configMapName, defaultMode: 0o444 } },
                { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
                { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
              ],
            },
          },
        },
      },
      SyncWave.DEMOS_AND_SMOKE_TESTS,
    );

    renderObject(
      this,
      'Service',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta(this.name),
        spec: {
          type: props.serviceType,
          selector: { ...this.selectorLabels },
          ports: props.ports.map((p) => ({
            name: p.name,
            port: p.port,
            targetPort: p.name,
            protocol: p.protocol,
          })),
        },
      },
      SyncWave.DEMOS_AND_SMOKE_TESTS,
    );

    renderDemoNetworkPolicy(this, 'NetworkPolicy', {
      name: this.name,
      namespace: this.namespace,
      selector: this.selectorLabels,
      labels,
      ingress: [
        {
          ...(props.ingressFrom !== undefined ? { peers: props.ingressFrom } : {}),
          ports: props.ports.map((p) => ({ protocol: p.protocol, port: p.containerPort })),
        },
      ],
      egress: props.egress,
    });
    this.node.addValidation({ validate: () => (this.#error !== undefined ? [this.#error] : []) });
  }
}

/** The pinned stock Node.js image that runs every demo server (contract/pod-layout.ts). */
export const DEMO_NODE_IMAGE = NODE_IMAGE;

/** Problems with a port prop, for the demos' validations. */
export function portProblem(what: string, port: number): string | undefined {
  return isPort(port) ? undefined : `${what} ${port} is not a valid port`;
}

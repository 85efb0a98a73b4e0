/**
 * GatewaySmokeTest: an Argo CD `PostSync` hook Job that fails the sync when media cannot flow
 * through a gateway. It runs the runtime's own TURN test, `stunnerd icetest` (the code behind
 * `stunnerctl icetest`), from the image and the runtime ConfigMap the gateway already runs, through
 * the same bootstrap, which merges the gateway's credentials Secret into its dataplane config:
 *
 * 1. allocate on each TURN-UDP and TURN-TCP listener, dialling the gateway's Service DNS name;
 * 2. relay `count` packets through the gateway: between two allocations of its own (a headless
 *    route), or to an echo backend (`peer`, which a route of the gateway must admit);
 * 3. exit non-zero on any failure, naming the step (unreachable, 401, 403, no relay, loss), so
 *    that the Job fails and Argo CD marks the sync failed.
 *
 * The Job needs no Kubernetes API access (its own ServiceAccount, no token mounted, no Role) and
 * its NetworkPolicy lets it reach only the gateway's listener ports and DNS. The gateway only
 * reaches it through an `IStunnerGateway`, like routes and the ICE auth service.
 */
import { ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { dns1035Problem, isPort } from '../../contract/checks.js';
import { DEFAULT_PORT } from '../../contract/defaults.js';
import { ipFamily } from '../../contract/ip-literal.js';
import { appLabels, appSelectorLabels } from '../../contract/labels.js';
import { RuntimeEnv } from '../../contract/pod-env.js';
import { renderObject } from '../core/api-object.js';
import { type K8sResourceRequirements, plainResources } from '../core/k8s-types.js';
import { uniquePorts } from '../core/network-policy-object.js';
import { containerSecurityContext, podSecurityContext } from '../core/pod-security.js';
import { SyncWave } from '../core/sync-wave.js';
import type { IStunnerGateway, ListenerPorts } from '../gateway/types.js';
import { RuntimeConfigMap } from '../runtime-bundle/runtime-config-map.js';
import { type RuntimePod, runtimePod } from '../runtime-bundle/runtime-pod.js';

/** Argo CD resource hook annotation. */
export const HOOK_ANNOTATION = 'argocd.argoproj.io/hook';
/** Argo CD hook deletion policy annotation. */
export const HOOK_DELETE_POLICY_ANNOTATION = 'argocd.argoproj.io/hook-delete-policy';

const SMOKE_TEST_APP = 'stunner-smoke-test';

/** The test runs briefly and mostly waits for packets. */
const DEFAULT_SMOKE_TEST_RESOURCES = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};

/** Upper bounds: a smoke test that may run for long holds the sync (and the next one) up. */
const MAX_BACKOFF_LIMIT = 5;
const MAX_ACTIVE_DEADLINE_SECONDS = 1800;

export interface GatewaySmokeTestProps {
  /** The gateway to test: its Service, listeners, config, credentials Secret and runtime. */
  readonly gateway: IStunnerGateway;
  /**
   * Names the Job, its ServiceAccount and NetworkPolicy.
   * @default '<gateway>-smoke-test'
   */
  readonly name?: string;
  /**
   * Only this listener (short name); it must be TURN-UDP or TURN-TCP.
   * @default every TURN-UDP and TURN-TCP listener (icetest speaks neither TLS nor DTLS)
   */
  readonly listener?: string;
  /**
   * An echo backend, `udp://<ip>:<port>`, that returns what it receives; a route of the gateway
   * must admit it. Without it, the test relays between two allocations of its own, which needs a
   * headless route on the gateway.
   * @default none: two allocations relay to each other
   */
  readonly peer?: string;
  /**
   * Packets relayed per listener.
   * @default 20
   */
  readonly count?: number;
  /**
   * Packets per second.
   * @default 50
   */
  readonly rate?: number;
  /**
   * Highest loss, in percent, that still passes.
   * @default 0
   */
  readonly maxLossPct?: number;
  /**
   * Longest wait for one TURN answer, and for the last echo, in milliseconds.
   * @default 3000
   */
  readonly timeoutMs?: number;
  /**
   * Retries of a failed test pod (0 to 5). Each retry runs the whole test again, so a gateway
   * that is still rolling out gets a second chance.
   * @default 1
   */
  readonly backoffLimit?: number;
  /**
   * The Job fails once it has run this long, retries included (at most 1800 s), and at least long
   * enough for one run of the test (synth checks).
   * @default 120
   */
  readonly activeDeadlineSeconds?: number;
  /**
   * A NetworkPolicy for the test pod: no ingress; egress only to the gateway's pods on its listener
   * ports, and DNS.
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * @default requests 50m CPU / 64Mi, limits 500m CPU / 256Mi
   */
  readonly resources?: K8sResourceRequirements;
  /**
   * Extra labels on every object.
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

export class GatewaySmokeTest extends Construct {
  /** The Job (and its ServiceAccount and NetworkPolicy). */
  readonly jobName: string;
  /** The gateway's namespace: the Job mounts its ConfigMaps and Secret. */
  readonly namespace: string;
  readonly gateway: IStunnerGateway;
  /** Labels of the test pod. */
  readonly podLabels: Readonly<Record<string, string>>;

  readonly #props: GatewaySmokeTestProps;
  readonly #labels: Record<string, string>;

  constructor(scope: Construct, id: string, props: GatewaySmokeTestProps) {
    super(scope, id);
    this.#props = props;
    this.gateway = props.gateway;
    this.namespace = props.gateway.namespace;
    // The Job mounts the namespace's runtime ConfigMap: synth checks Argo CD syncs its file too.
    if (props.gateway.runtime.kind === 'bundle') RuntimeConfigMap.of(this, this.namespace);
    this.jobName = props.name ?? `${props.gateway.gatewayName}-smoke-test`;
    const app = { name: SMOKE_TEST_APP, instance: this.jobName };
    this.podLabels = appSelectorLabels(app);
    this.#labels = { ...props.labels, ...appLabels({ ...app, component: 'smoke-test' }) };
    this.#render();
    this.node.addValidation({ validate: () => this.#validate() });
  }

  /** The listeners the test dials (TURN-UDP and TURN-TCP only). */
  get testedListeners(): readonly ListenerPorts[] {
    return this.gateway.listeners.filter(
      (l) => isTestable(l) && (this.#props.listener === undefined || l.name === this.#props.listener),
    );
  }

  /** The container's `stunnerd icetest` arguments (after the bootstrap's). */
  get icetestArgs(): string[] {
    const p = this.#props;
    const args = ['icetest', '-c', '<config>', '--address', this.gateway.serviceDnsName];
    if (p.listener !== undefined) args.push('--listener', p.listener);
    if (p.peer !== undefined) args.push('--peer', p.peer);
    args.push('-n', String(this.#count), '--rate', String(this.#rate));
    args.push('--max-loss', String(p.maxLossPct ?? 0), '--timeout', String(this.#timeoutMs));
    args.push('--user-id', 'smoke-test');
    return args;
  }

  get #count(): number {
    return this.#props.count ?? 20;
  }
  get #rate(): number {
    return this.#props.rate ?? 50;
  }
  get #timeoutMs(): number {
    return this.#props.timeoutMs ?? 3000;
  }
  get #deadline(): number {
    return this.#props.activeDeadlineSeconds ?? 120;
  }
  get #backoffLimit(): number {
    return this.#props.backoffLimit ?? 1;
  }

  #meta(annotations: Record<string, string> = {}) {
    return {
      name: this.jobName,
      namespace: this.namespace,
      labels: { ...this.#labels },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    };
  }

  #render(): void {
    renderObject(this, 'ServiceAccount', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: this.#meta(),
      automountServiceAccountToken: false,
    });

    if (this.#props.networkPolicy ?? true) {
      renderObject(this, 'NetworkPolicy', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: this.#meta(),
        spec: Lazy.any({ produce: () => this.#networkPolicySpec() }),
      });
    }

    // The hook: created after every other resource of the sync is healthy; the previous run is
    // deleted before a new one is created, a passing run right away. A failing run stays, with its
    // logs, until the next sync.
    new ApiObject(this, 'Job', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: this.#meta({
        [HOOK_ANNOTATION]: 'PostSync',
        [HOOK_DELETE_POLICY_ANNOTATION]: 'BeforeHookCreation,HookSucceeded',
        ...SyncWave.DEMOS_AND_SMOKE_TESTS.annotation(),
      }),
      spec: Lazy.any({
        produce: () => {
          const layout = this.#layout();
          return {
            backoffLimit: this.#backoffLimit,
            activeDeadlineSeconds: this.#deadline,
            template: {
              metadata: {
                labels: { ...this.#labels },
                ...(Object.keys(layout.annotations).length > 0 ? { annotations: layout.annotations } : {}),
              },
              spec: this.#podSpec(layout),
            },
          };
        },
      }),
    });
  }

  /** The gateway pod's layout: its one config, and only the auth keys of its credentials Secret. */
  #layout(): RuntimePod {
    const g = this.gateway;
    return runtimePod({
      runtime: g.runtime,
      configs: [
        {
          configMapName: g.configMapName,
          credentialsSecretName: g.credentialsSecretName,
          credentialKeys: g.auth?.secretKeys ?? [],
        },
      ],
      relayNodeFlags: false,
      runSizeLimit: '16Mi',
    });
  }

  #podSpec(layout: RuntimePod): IPodSpec {
    const args = this.icetestArgs.map((a) => (a === '<config>' ? layout.configPaths[0]! : a));
    return {
      restartPolicy: 'Never',
      serviceAccountName: this.jobName,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: podSecurityContext(),
      containers: [
        {
          name: 'icetest',
          image: layout.image,
          imagePullPolicy: 'IfNotPresent',
          workingDir: layout.workingDir,
          command: layout.command,
          args: [...layout.bootstrapArgs, ...args],
          resources:
            this.#props.resources !== undefined
              ? plainResources(this.#props.resources)
              : DEFAULT_SMOKE_TEST_RESOURCES,
          securityContext: containerSecurityContext(),
          // The config's `$STUNNER_ADDR` (a headless route's endpoint) expands as in the gateway
          // pod, so that the config validates; icetest dials `--address`, never this.
          env: [{ name: RuntimeEnv.ADDR, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
          volumeMounts: layout.volumeMounts,
        },
      ],
      volumes: layout.volumes,
    };
  }

  /**
   * No ingress. Egress: the gateway's pods on the tested listeners' pod ports (a Service's
   * ClusterIP is translated to a pod address before policies apply), and DNS for the Service name.
   * Relayed packets travel inside the TURN connection (ChannelData to the listener), so the test
   * pod never exchanges packets with a peer directly; the gateway's own policy admits the peers.
   */
  #networkPolicySpec() {
    const ports = uniquePorts(
      this.testedListeners.map((l) => ({
        protocol: l.protocol === 'TURN-TCP' ? 'TCP' : 'UDP',
        port: targetPortOf(l),
      })),
    );
    return {
      podSelector: { matchLabels: { ...this.podLabels } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [
        { to: [{ podSelector: { matchLabels: { ...this.gateway.selectorLabels } } }], ports },
        {
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    };
  }

  /** Pure: reads the props and the gateway, creates nothing. */
  #validate(): string[] {
    const p = this.#props;
    const problems: string[] = [];
    const why = dns1035Problem(this.jobName);
    if (why) problems.push(`name ${why}`);
    const g = this.gateway;
    if (p.listener !== undefined) {
      const l = g.listeners.find((x) => x.name === p.listener);
      if (l === undefined)
        problems.push(
          `gateway "${g.gatewayName}" has no listener "${p.listener}" (it has: ${g.listenerNames.join(', ') || 'none'})`,
        );
      else if (!isTestable(l))
        problems.push(
          `listener "${p.listener}" is ${l.protocol}; the smoke test speaks TURN-UDP and TURN-TCP only`,
        );
    } else if (this.testedListeners.length === 0) {
      problems.push(
        `gateway "${g.gatewayName}" has no TURN-UDP or TURN-TCP listener; the smoke test speaks only those`,
      );
    }
    for (const l of this.testedListeners) {
      const port = l.port ?? DEFAULT_PORT;
      if (targetPortOf(l) !== port)
        problems.push(
          `listener "${l.name}": Service port ${port} differs from its targetPort ${targetPortOf(l)}; the smoke test dials the Service at the port the runtime binds, so make them equal or test another listener`,
        );
    }
    if (p.peer !== undefined && !isUdpPeer(p.peer))
      problems.push(`peer "${p.peer}" is not udp://<ip>:<port> (an IP literal and a port from 1 to 65535)`);
    const range = (what: string, v: number, min: number, max: number, integer = true) => {
      if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
        problems.push(`${what} ${v} is not ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
    };
    range('count', this.#count, 1, 100_000);
    range('rate', this.#rate, 1, 100_000);
    range('maxLossPct', p.maxLossPct ?? 0, 0, 100, false);
    range('timeoutMs', this.#timeoutMs, 100, 600_000);
    range('backoffLimit', this.#backoffLimit, 0, MAX_BACKOFF_LIMIT);
    range('activeDeadlineSeconds', this.#deadline, 1, MAX_ACTIVE_DEADLINE_SECONDS);
    // One run: per listener, the packets at the rate plus up to four TURN waits and the echo wait;
    // and the runtime's start.
    const oneRun = Math.ceil(
      10 + this.testedListeners.length * (this.#count / this.#rate + (5 * this.#timeoutMs) / 1000),
    );
    if (Number.isFinite(oneRun) && this.#deadline < oneRun)
      problems.push(
        `activeDeadlineSeconds ${this.#deadline} is shorter than one run of the test (about ${oneRun} s for ${this.testedListeners.length} listener(s), ${this.#count} packets at ${this.#rate}/s, ${this.#timeoutMs} ms timeouts); raise it or send fewer packets`,
      );
    if (g.auth === undefined) problems.push(`gateway "${g.gatewayName}" has no auth: nothing to test with`);
    return problems;
  }
}

function isTestable(l: ListenerPorts): boolean {
  const protocol = l.protocol ?? 'TURN-UDP';
  return protocol === 'TURN-UDP' || protocol === 'TURN-TCP';
}

function targetPortOf(l: ListenerPorts): number {
  return l.targetPort ?? l.port ?? DEFAULT_PORT;
}

function isUdpPeer(peer: string): boolean {
  const m = /^udp:\/\/(?:\[([^\]]+)\]|([^:/[\]]+)):([0-9]{1,5})$/.exec(peer);
  if (!m) return false;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  return ipFamily(host) !== 0 && isPort(port);
}

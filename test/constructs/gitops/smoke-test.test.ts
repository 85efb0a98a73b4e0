/**
 * GatewaySmokeTest: the PostSync hook Job that fails an Argo CD sync when media cannot flow.
 *
 * The rendered objects (hook annotations, wave, RBAC, NetworkPolicy, validation), and the real
 * thing: the committed dist/eu-west/direct-call.k8s.yaml's Jobs run as their pods would (command,
 * args, env and volumes from the YAML, on the pods' Node.js release) against the committed gateway
 * pods run the same way on a loopback address. The Job dials the gateway's Service DNS name; a
 * mount namespace of its own maps that name to the gateway pod's address in /etc/hosts, as the
 * demo pod tests do for cluster DNS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  GatewaySmokeTest,
  type GatewaySmokeTestProps,
  HOOK_ANNOTATION,
  HOOK_DELETE_POLICY_ANNOTATION,
} from '../../../constructs/gitops/index.js';
import {
  MediaRoute,
  StunnerGateway,
  type StunnerGatewayProps,
  SYNC_WAVE_ANNOTATION,
  SyncWave,
  TurnAuth,
} from '../../../constructs/index.js';
import {
  canMapHosts,
  cleanUpPods,
  loadDist,
  loopback,
  type RunningPod,
  startPod,
} from '../../helpers/demo-pods.js';
import { materializePod } from '../../helpers/pod-sandbox.js';
import { find, type Manifest, newChart, synth, synthErrors } from '../helpers.js';

function gatewayChart(listeners?: StunnerGatewayProps['listeners']) {
  const chart = newChart('media');
  const gateway = new StunnerGateway(chart, 'gw', {
    name: 'udp-gateway',
    auth: TurnAuth.ephemeral('stunner-auth-secret'),
    mixedProtocolLoadBalancer: true,
    listeners: listeners ?? [
      { name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 },
      { name: 'tcp-listener', protocol: 'TURN-TCP', port: 3479 },
    ],
  });
  new MediaRoute(chart, 'headless', { parents: [gateway], headless: true });
  return { chart, gateway };
}

function smokeTest(
  props: Omit<GatewaySmokeTestProps, 'gateway'> = {},
  listeners?: Parameters<typeof gatewayChart>[0],
) {
  const { chart, gateway } = gatewayChart(listeners);
  const test = new GatewaySmokeTest(chart, 'smoke', { gateway, ...props });
  return { chart, gateway, test };
}

const ofTest = (objects: Manifest[]) =>
  objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'smoke-test');

describe('GatewaySmokeTest: what it renders', () => {
  const { chart, gateway, test } = smokeTest();
  const objects = synth(chart);
  const job = find(objects, 'Job', 'udp-gateway-smoke-test');
  const pod = job.spec.template.spec;
  const container = pod.containers[0];

  it('renders a ServiceAccount, a NetworkPolicy and the Job, in the gateway namespace; nothing else', () => {
    expect(ofTest(objects).map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/media/udp-gateway-smoke-test',
      'NetworkPolicy/media/udp-gateway-smoke-test',
      'Job/media/udp-gateway-smoke-test',
    ]);
    expect(test.namespace).toBe(gateway.namespace);
  });

  it('is an Argo CD PostSync hook in the demos-and-smoke-tests wave, deleted before the next run and once it passes', () => {
    expect(job.metadata.annotations).toEqual({
      [HOOK_ANNOTATION]: 'PostSync',
      [HOOK_DELETE_POLICY_ANNOTATION]: 'BeforeHookCreation,HookSucceeded',
      [SYNC_WAVE_ANNOTATION]: SyncWave.DEMOS_AND_SMOKE_TESTS.value,
    });
    // Not a generateName: BeforeHookCreation finds the previous run by name.
    expect(job.metadata.generateName).toBeUndefined();
    // Its ServiceAccount and NetworkPolicy are ordinary resources, in their kinds' waves: they
    // exist before the hook runs.
    for (const kind of ['ServiceAccount', 'NetworkPolicy']) {
      const o = find(objects, kind, 'udp-gateway-smoke-test');
      expect(o.metadata.annotations[HOOK_ANNOTATION]).toBeUndefined();
      expect(o.metadata.annotations[SYNC_WAVE_ANNOTATION]).toBe(SyncWave.forKind(kind).value);
    }
  });

  it('is bounded: one retry, a two-minute deadline, no restarts in place', () => {
    expect(job.spec.backoffLimit).toBe(1);
    expect(job.spec.activeDeadlineSeconds).toBe(120);
    expect(pod.restartPolicy).toBe('Never');
  });

  it('needs no Kubernetes API: its own ServiceAccount, no token, no Role or binding', () => {
    const sa = find(objects, 'ServiceAccount', 'udp-gateway-smoke-test');
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('udp-gateway-smoke-test');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    const kinds = ofTest(objects).map((o) => o.kind);
    for (const k of ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'])
      expect(kinds).not.toContain(k);
    // The gateway's own RBAC never names the test's account.
    for (const b of objects.filter((o) => o.kind.endsWith('RoleBinding')))
      expect(JSON.stringify(b.subjects)).not.toContain('smoke-test');
  });

  it('runs the runtime the gateway runs, through the same bootstrap that injects the credentials Secret', () => {
    const deployment = find(objects, 'Deployment', 'udp-gateway');
    const gw = deployment.spec.template.spec.containers[0];
    expect(container.image).toBe(gw.image);
    // node and the bootstrap, without the relay's heap flags
    expect(container.command).toEqual([gw.command[0], gw.command.at(-1)]);
    expect(container.workingDir).toBe(gw.workingDir);
    const bootstrap = container.args.slice(0, container.args.indexOf('--') + 1);
    expect(bootstrap).toEqual(gw.args.slice(0, gw.args.indexOf('--') + 1));
    expect(container.securityContext).toEqual(gw.securityContext);
    // Same ConfigMaps and credentials Secret (auth keys only) as the gateway pod.
    const volumes = (p: Manifest) => Object.fromEntries(p.volumes.map((v: Manifest) => [v.name, v]));
    const mine = volumes(pod);
    const theirs = volumes(deployment.spec.template.spec);
    for (const v of ['runtime', 'config', 'secrets']) expect(mine[v], v).toEqual(theirs[v]);
    expect(job.spec.template.metadata.annotations).toEqual(deployment.spec.template.metadata.annotations);
  });

  it('runs stunnerd icetest against the Service DNS name, every TURN-UDP and TURN-TCP listener', () => {
    const args = container.args.slice(container.args.indexOf('--') + 1);
    expect(args).toEqual([
      'icetest',
      '-c',
      'config/stunnerd.conf',
      '--address',
      'udp-gateway.media.svc.cluster.local',
      '-n',
      '20',
      '--rate',
      '50',
      '--max-loss',
      '0',
      '--timeout',
      '3000',
      '--user-id',
      'smoke-test',
    ]);
    expect(test.testedListeners.map((l) => l.name)).toEqual(['udp-listener', 'tcp-listener']);
  });

  it('has a pod that no gateway Service selects', () => {
    const labels = job.spec.template.metadata.labels;
    for (const svc of objects.filter((o) => o.kind === 'Service')) {
      const sel = Object.entries<string>(svc.spec.selector ?? {});
      expect(
        sel.every(([k, v]) => labels[k] === v),
        svc.metadata.name,
      ).toBe(false);
    }
  });

  it('NetworkPolicy: no ingress; egress only to the gateway pods on the listener ports, and DNS', () => {
    const np = find(objects, 'NetworkPolicy', 'udp-gateway-smoke-test');
    expect(np.spec).toEqual({
      podSelector: { matchLabels: { ...test.podLabels } },
      // no ingress rules: policyTypes denies all (an explicit [] would drift, see NetworkPolicyObject)
      policyTypes: ['Ingress', 'Egress'],
      egress: [
        {
          to: [{ podSelector: { matchLabels: { ...gateway.selectorLabels } } }],
          ports: [
            { protocol: 'UDP', port: 3478 },
            { protocol: 'TCP', port: 3479 },
          ],
        },
        {
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    });
  });

  it("the gateway's NetworkPolicy admits the Job's pod on the listener ports (from anywhere)", () => {
    const np = find(objects, 'NetworkPolicy', 'udp-gateway');
    const rule = np.spec.ingress.find((r: Manifest) =>
      r.ports.some((p: Manifest) => p.port === 3478 && p.protocol === 'UDP'),
    );
    expect(rule.from).toBeUndefined();
    expect(rule.ports).toEqual(
      expect.arrayContaining([
        { protocol: 'UDP', port: 3478 },
        { protocol: 'TCP', port: 3479 },
      ]),
    );
  });

  it('options: one listener, an echo peer, packets, loss, timeouts, bounds, no NetworkPolicy', () => {
    const { chart } = smokeTest({
      name: 'udp-check',
      listener: 'udp-listener',
      peer: 'udp://10.0.0.7:9001',
      count: 100,
      rate: 100,
      maxLossPct: 2.5,
      timeoutMs: 2000,
      backoffLimit: 0,
      activeDeadlineSeconds: 60,
      networkPolicy: false,
    });
    const out = synth(chart);
    const j = find(out, 'Job', 'udp-check');
    const args: string[] = j.spec.template.spec.containers[0].args;
    expect(args.slice(args.indexOf('icetest'))).toEqual([
      ...['icetest', '-c', 'config/stunnerd.conf', '--address', 'udp-gateway.media.svc.cluster.local'],
      ...['--listener', 'udp-listener', '--peer', 'udp://10.0.0.7:9001', '-n', '100', '--rate', '100'],
      ...['--max-loss', '2.5', '--timeout', '2000', '--user-id', 'smoke-test'],
    ]);
    expect([j.spec.backoffLimit, j.spec.activeDeadlineSeconds]).toEqual([0, 60]);
    expect(out.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).toEqual([
      'udp-gateway',
    ]);
  });
});

describe('GatewaySmokeTest: synth refuses what cannot work', () => {
  const errors = (
    props: Omit<GatewaySmokeTestProps, 'gateway'>,
    listeners?: Parameters<typeof gatewayChart>[0],
  ) => synthErrors(smokeTest(props, listeners).chart).join('\n');

  it('names each problem', () => {
    expect(errors({ listener: 'nope' })).toMatch(
      /has no listener "nope" \(it has: udp-listener, tcp-listener\)/,
    );
    expect(errors({ peer: 'udp://media.example:9' })).toMatch(
      /peer "udp:\/\/media.example:9" is not udp:\/\/<ip>:<port>/,
    );
    expect(errors({ peer: '10.0.0.1:9' })).toMatch(/is not udp:\/\/<ip>:<port>/);
    expect(errors({ backoffLimit: 10 })).toMatch(/backoffLimit 10 is not a whole number from 0 to 5/);
    expect(errors({ activeDeadlineSeconds: 7200 })).toMatch(
      /activeDeadlineSeconds 7200 is not a whole number from 1 to 1800/,
    );
    expect(errors({ count: 0 })).toMatch(/count 0 is not a whole number/);
    expect(errors({ maxLossPct: 150 })).toMatch(/maxLossPct 150 is not a number from 0 to 100/);
    expect(errors({ name: 'Smoke_Test' })).toMatch(/name "Smoke_Test" must be lowercase/);
  });

  it('a deadline shorter than one run of the test', () => {
    expect(errors({ activeDeadlineSeconds: 20, count: 1000, rate: 50 })).toMatch(
      /activeDeadlineSeconds 20 is shorter than one run of the test \(about \d+ s for 2 listener\(s\), 1000 packets at 50\/s/,
    );
  });

  it('listeners it cannot test: TLS/DTLS only, a chosen TLS listener, a Service port the runtime does not bind', () => {
    const tlsOnly = [{ name: 'tls', protocol: 'TURN-TLS' as const, port: 443, tlsSecret: 'tls' }];
    expect(errors({}, tlsOnly)).toMatch(
      /has no TURN-UDP or TURN-TCP listener; the smoke test speaks only those/,
    );
    expect(errors({ listener: 'tls' }, tlsOnly)).toMatch(
      /listener "tls" is TURN-TLS; the smoke test speaks TURN-UDP and TURN-TCP only/,
    );
    const remapped = [{ name: 'udp', protocol: 'TURN-UDP' as const, port: 3478, targetPort: 13478 }];
    expect(errors({}, remapped)).toMatch(
      /listener "udp": Service port 3478 differs from its targetPort 13478/,
    );
  });

  it('the defaults synthesize', () => {
    expect(synthErrors(smokeTest().chart)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The real thing, from the committed YAML.

const objects = loadDist('direct-call.k8s.yaml');
const SECRET = randomBytes(24).toString('base64url');
const SECRETS = { 'stunner-auth-secret': { secret: SECRET } };
const MAP_HOSTS = canMapHosts();
const dirs: string[] = [];

interface JobRun {
  readonly code: number | null;
  readonly output: string;
  readonly args: string[];
}

/**
 * Runs a committed Job's container to completion: its command, args, env and volumes from the
 * YAML; its Service DNS name (the `--address`, unchanged) resolves to `gatewayIp` through a
 * private /etc/hosts in a mount namespace of its own, so the Job's own DNS lookup is exercised.
 */
async function runJob(name: string, gatewayIp: string, manifests: Manifest[] = objects): Promise<JobRun> {
  const dir = mkdtempSync(join(tmpdir(), `smoke-${name}-`));
  dirs.push(dir);
  const sandbox = materializePod(manifests, name, { dir, podIP: loopback(), secrets: SECRETS, kind: 'Job' });
  const at = sandbox.args.indexOf('--address');
  const serviceDns = sandbox.args[at + 1]!;
  const hosts = join(dir, '..', `${name}-${gatewayIp}.hosts`);
  writeFileSync(hosts, `127.0.0.1 localhost\n${gatewayIp} ${serviceDns}\n`);
  dirs.push(hosts);
  const argv = [
    ...['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts],
    ...[sandbox.command, ...sandbox.args],
  ];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    cwd: sandbox.cwd,
    env: { PATH: process.env['PATH'] ?? '', ...sandbox.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (b) => (output += b));
  child.stderr!.on('data', (b) => (output += b));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, output, args: sandbox.args };
}

/** The gateway's dataplane config with its listeners' routes (and the route's cluster) removed. */
function withoutRoutes(manifests: Manifest[], gateway: string): Manifest[] {
  return manifests.map((o) => {
    if (o.kind !== 'ConfigMap' || o.metadata.name !== `${gateway}-config`) return o;
    const config = JSON.parse(o.data['stunnerd.conf']);
    for (const l of config.listeners) l.routes = [];
    config.clusters = [];
    return { ...o, data: { ...o.data, 'stunnerd.conf': `${JSON.stringify(config, null, 2)}\n` } };
  });
}

afterAll(async () => {
  await cleanUpPods();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('committed dist/eu-west/direct-call.k8s.yaml: the smoke-test Jobs', () => {
  it('one PostSync Job per gateway, each dialling its gateway Service by DNS name', () => {
    const jobs = objects.filter((o) => o.kind === 'Job');
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual([
      'tcp-gateway-smoke-test',
      'udp-gateway-smoke-test',
    ]);
    for (const j of jobs) {
      expect(j.metadata.annotations[HOOK_ANNOTATION]).toBe('PostSync');
      const gateway = j.metadata.name.replace(/-smoke-test$/, '');
      const args: string[] = j.spec.template.spec.containers[0].args;
      expect(args[args.indexOf('--address') + 1]).toBe(`${gateway}.direct-call.svc.cluster.local`);
    }
  });
});

// One gateway pod at a time: health and metrics bind every address of the pod (of this machine).
for (const [gateway, protocol] of [
  ['udp-gateway', 'TURN-UDP'],
  ['tcp-gateway', 'TURN-TCP'],
] as const) {
  describe(`committed ${gateway}-smoke-test Job, run against the committed ${gateway} pod`, () => {
    let pod: RunningPod | undefined;
    const start = async (manifests: Manifest[] = objects) => {
      pod = await startPod(manifests, gateway, { secrets: SECRETS, ready: 'stunnerd ready' });
      return pod;
    };
    beforeAll(async () => {
      // A missing capability fails the run: a skipped check would pass for nothing.
      if (!MAP_HOSTS)
        throw new Error(
          'these tests give the Job its cluster DNS name through its own /etc/hosts (unshare -m and a bind mount), which this machine refuses: run them as root or where user namespaces are allowed',
        );
      await start();
    });
    afterEach(async () => {
      // each test leaves a running gateway from the committed YAML for the next
      if (pod === undefined || pod.child.exitCode !== null || pod.child.signalCode !== null) await start();
    });
    afterAll(() => pod?.stop());

    it(`passes: allocates on the ${protocol} listener and relays every packet through two allocations (headless route)`, async () => {
      const r = await runJob(`${gateway}-smoke-test`, pod!.ip);
      expect(r.output).toMatch(
        new RegExp(
          `^PASS direct-call/${gateway}/\\S+ ${protocol} \\S+:3478: sent 20 received 20 loss 0\\.0%`,
          'm',
        ),
      );
      expect(r.code, r.output).toBe(0);
    });

    it('fails, naming "unreachable", when the gateway is stopped', async () => {
      await pod!.stop();
      const r = await runJob(`${gateway}-smoke-test`, pod!.ip);
      expect(r.code, r.output).toBe(1);
      expect(r.output).toMatch(
        new RegExp(`^FAIL direct-call/${gateway}/\\S+ ${protocol} \\S+: unreachable: allocate`, 'm'),
      );
    });

    it('fails, naming "403", when the route is removed', async () => {
      await pod!.stop();
      const manifests = withoutRoutes(objects, gateway);
      await start(manifests);
      const r = await runJob(`${gateway}-smoke-test`, pod!.ip, manifests);
      expect(r.code, r.output).toBe(1);
      expect(r.output).toMatch(new RegExp(`^FAIL direct-call/${gateway}/\\S+ ${protocol} \\S+: 403: `, 'm'));
      // the gateway is restarted from the committed YAML for the next test
      await pod!.stop();
    });
  });
}

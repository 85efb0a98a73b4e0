/**
 * A real Kubernetes control plane for the cluster test tier: etcd, kube-apiserver and
 * kube-controller-manager, built by scripts/build-control-plane.sh, run in a network namespace of
 * the test's own (./netns.ts) with generated PKI (./pki.ts), Node and RBAC authorization, and the
 * apiserver's default admission plugins (Pod Security admission among them).
 *
 * There is no kubelet, scheduler or kube-proxy: ./kubelet.ts stands in for the kubelet, binds pods
 * and runs the ones a test asks for; the real deployment, replicaset, endpointslice, job,
 * serviceaccount and garbage-collector controllers do the rest. The node-lifecycle controller is
 * off, because the stand-in sends no node heartbeats.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { sleep, until } from '../helpers/wait.js';
import { type ClusterNet, createClusterNet } from './netns.js';
import { makePki, type Pki } from './pki.js';

export const CLUSTER_BIN = join(import.meta.dirname, '..', '..', '.cluster-build', 'bin');
export const KUBERNETES_VERSION = 'v1.36.3';
const API_PORT = 6443;

export function controlPlaneMissing(): string | undefined {
  for (const b of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'])
    if (!existsSync(join(CLUSTER_BIN, b)))
      return `${b} is not built: run scripts/build-control-plane.sh (npm run test:cluster does)`;
  return undefined;
}

/** The fields of an audit.k8s.io/v1 Event the tests read. */
export interface AuditEvent {
  readonly verb: string;
  readonly requestURI: string;
  readonly user: { readonly username: string };
  readonly objectRef?: {
    readonly resource: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly apiGroup?: string;
  };
  readonly responseStatus?: { readonly code: number };
  readonly stageTimestamp: string;
}

export interface KubectlResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ControlPlane {
  readonly name: string;
  readonly net: ClusterNet;
  readonly pki: Pki;
  /** https://<node IP>:6443 */
  readonly server: string;
  /** The admin kubeconfig (system:masters). */
  readonly adminKubeconfig: string;
  /** A client-node KubeConfig for the admin. */
  adminConfig(): KubeConfig;
  /** Runs kubectl as the admin (or with `kubeconfig`); never throws. */
  kubectl(
    args: readonly string[],
    o?: { input?: string; kubeconfig?: string; timeoutMs?: number },
  ): KubectlResult;
  /** Like kubectl, but throws with stderr unless it exits 0. */
  kubectlOk(args: readonly string[], o?: { input?: string; kubeconfig?: string; timeoutMs?: number }): string;
  /** A token for a ServiceAccount through TokenRequest, bound to a pod when given. */
  token(namespace: string, serviceAccount: string, pod?: { name: string; uid: string }): string;
  /** A kubeconfig file that authenticates as a ServiceAccount. */
  serviceAccountKubeconfig(namespace: string, serviceAccount: string): string;
  /** Stops the apiserver (SIGKILL), for outage tests; `startApiserver` brings it back. */
  stopApiserver(): Promise<void>;
  startApiserver(): Promise<void>;
  /** The audit log's events (writes only), oldest first; needs `{ audit: true }`. */
  auditEvents(): AuditEvent[];
  /** How long the control plane took to become ready, in ms. */
  readonly startMs: number;
  stop(): Promise<void>;
}

/** A child process whose output is kept: its last chunks in memory, all of it in `logFile` if given. */
export interface LoggedProc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: string[];
}

export function spawnLogged(
  name: string,
  command: string,
  args: readonly string[],
  o: { readonly env?: NodeJS.ProcessEnv; readonly logFile?: string; readonly tail?: number } = {},
): LoggedProc {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
  const p: LoggedProc = { name, child, log: [] };
  const tail = o.tail ?? 400;
  const file = o.logFile ? createWriteStream(o.logFile) : undefined;
  file?.on('error', () => {});
  child.on('exit', () => file?.end());
  const keep = (b: Buffer) => {
    file?.write(b);
    p.log.push(b.toString());
    if (p.log.length > tail) p.log.splice(0, tail / 2);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (e) => p.log.push(`spawn error: ${e.message}`));
  return p;
}

type Proc = LoggedProc;

const startProc = (net: ClusterNet, name: string, bin: string, args: readonly string[]): Proc =>
  spawnLogged(name, 'ip', ['netns', 'exec', net.ns, join(CLUSTER_BIN, bin), ...args]);

/** Signals a child and waits for its exit, with SIGKILL after `graceMs`; at once if it is gone. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

const stopProc = (p: Proc, signal: NodeJS.Signals = 'SIGTERM') => stopChild(p.child, signal, 5000);

function kubeconfigYaml(
  server: string,
  ca: string,
  user: { cert?: string; key?: string; token?: string },
): string {
  const auth = user.token
    ? `    token: ${user.token}\n`
    : `    client-certificate: ${user.cert}\n    client-key: ${user.key}\n`;
  return `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${server}
    certificate-authority: ${ca}
users:
- name: user
  user:
${auth}contexts:
- name: test
  context:
    cluster: test
    user: user
current-context: test
`;
}

/**
 * Starts a control plane in its own network namespace 10.<octet>.0.0/24. Give each cluster of a
 * test run its own octet. `serverNames` are extra DNS names in the apiserver's certificate (the
 * name a cluster is registered under in Argo CD).
 */
export async function startControlPlane(
  name: string,
  octet: number,
  o: {
    readonly serverNames?: readonly string[];
    /** Keep an audit log of every write (create, update, patch, delete): `auditEvents()`. */
    readonly audit?: boolean;
  } = {},
): Promise<ControlPlane> {
  const missing = controlPlaneMissing();
  if (missing) throw new Error(missing);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `cluster-${name}-`));
  const net = createClusterNet(octet);
  const procs: Proc[] = [];
  const cleanup = async () => {
    for (const p of [...procs].reverse()) await stopProc(p);
    net.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = makePki(dir, [net.nodeIP], o.serverNames);
    const server = `https://${net.nodeIP}:${API_PORT}`;
    const admin = pki.client('admin', 'admin', ['system:masters']);
    const adminKubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(adminKubeconfig, kubeconfigYaml(server, pki.caCert, admin));
    const kcm = pki.client('kcm', 'system:kube-controller-manager');
    const kcmKubeconfig = join(dir, 'kcm.kubeconfig');
    writeFileSync(kcmKubeconfig, kubeconfigYaml(server, pki.caCert, kcm));

    mkdirSync(join(dir, 'etcd'));
    procs.push(
      startProc(net, 'etcd', 'etcd', [
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        '--listen-client-urls=http://127.0.0.1:2379',
        '--advertise-client-urls=http://127.0.0.1:2379',
        '--listen-peer-urls=http://127.0.0.1:2380',
        '--initial-advertise-peer-urls=http://127.0.0.1:2380',
        '--initial-cluster=default=http://127.0.0.1:2380',
        '--log-level=warn',
        // tests: no fsync per write
        '--unsafe-no-fsync',
      ]),
    );
    const apiArgs = [
      `--bind-address=${net.nodeIP}`,
      `--advertise-address=${net.nodeIP}`,
      `--secure-port=${API_PORT}`,
      '--etcd-servers=http://127.0.0.1:2379',
      `--client-ca-file=${pki.caCert}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      // ClusterIPs come from this cluster's own /16, which routes into its namespace
      `--service-cluster-ip-range=10.${octet}.128.0/17`,
      '--service-node-port-range=30000-32767',
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=false',
      '--profiling=false',
      '--v=1',
    ];
    const auditLog = join(dir, 'audit.log');
    if (o.audit) {
      // the apiserver's own record of writes, in the order it served them
      writeFileSync(
        join(dir, 'audit-policy.yaml'),
        [
          'apiVersion: audit.k8s.io/v1',
          'kind: Policy',
          'omitStages: [RequestReceived]',
          'rules:',
          '- level: Metadata',
          '  verbs: [create, update, patch, delete]',
          '- level: None',
          '',
        ].join('\n'),
      );
      apiArgs.push(`--audit-policy-file=${join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${auditLog}`);
    }
    const API = procs.push(startProc(net, 'kube-apiserver', 'kube-apiserver', apiArgs)) - 1;

    const cp: ControlPlane = {
      name,
      net,
      pki,
      server,
      adminKubeconfig,
      startMs: 0,
      adminConfig() {
        const kc = new KubeConfig();
        kc.loadFromFile(adminKubeconfig);
        return kc;
      },
      kubectl(args, o = {}) {
        const r = spawnSync(
          join(CLUSTER_BIN, 'kubectl'),
          [`--kubeconfig=${o.kubeconfig ?? adminKubeconfig}`, ...args],
          {
            input: o.input,
            encoding: 'utf8',
            timeout: o.timeoutMs ?? 60_000,
            maxBuffer: 64 << 20,
          },
        );
        return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr || r.error?.message || '' };
      },
      kubectlOk(args, o) {
        const r = cp.kubectl(args, o);
        if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
        return r.stdout;
      },
      token(namespace, sa, pod) {
        const bound = pod
          ? [`--bound-object-kind=Pod`, `--bound-object-name=${pod.name}`, `--bound-object-uid=${pod.uid}`]
          : [];
        return cp.kubectlOk(['-n', namespace, 'create', 'token', sa, '--duration=2h', ...bound]).trim();
      },
      serviceAccountKubeconfig(namespace, sa) {
        const file = join(dir, `sa-${namespace}-${sa}.kubeconfig`);
        writeFileSync(file, kubeconfigYaml(server, pki.caCert, { token: cp.token(namespace, sa) }));
        return file;
      },
      async stopApiserver() {
        await stopProc(procs[API]!, 'SIGKILL');
      },
      async startApiserver() {
        procs[API] = startProc(net, 'kube-apiserver', 'kube-apiserver', apiArgs);
        await waitReady(cp, procs[API]!);
      },
      auditEvents() {
        if (!o.audit)
          throw new Error(`control plane ${name} keeps no audit log: start it with { audit: true }`);
        if (!existsSync(auditLog)) return [];
        return readFileSync(auditLog, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l));
      },
      async stop() {
        await cleanup();
      },
    };
    await waitReady(cp, procs[API]!);
    procs.push(
      startProc(net, 'kube-controller-manager', 'kube-controller-manager', [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        '--bind-address=127.0.0.1',
        '--secure-port=10257',
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--cluster-signing-cert-file=${pki.caCert}`,
        `--cluster-signing-key-file=${pki.caKey}`,
        // no kubelet heartbeats here, and no pod CIDRs to hand out
        '--controllers=*,-nodelifecycle,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route',
        '--endpointslice-updates-batch-period=0s',
        '--v=1',
      ]),
    );
    // the controllers are up once the token controller has made the default ServiceAccount
    await until(
      'the controller manager to create kube-system/default',
      () => cp.kubectl(['-n', 'kube-system', 'get', 'serviceaccount', 'default']).status === 0,
      60_000,
    );
    (cp as { startMs: number }).startMs = Date.now() - started;
    return cp;
  } catch (e) {
    const logs = procs.map((p) => `--- ${p.name}\n${p.log.join('').slice(-3000)}`).join('\n');
    await cleanup();
    throw new Error(`control plane ${name} did not start: ${(e as Error).message}\n${logs}`);
  }
}

async function waitReady(cp: ControlPlane, apiserver: Proc): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (apiserver.child.exitCode !== null)
      throw new Error(
        `kube-apiserver exited ${apiserver.child.exitCode}: ${apiserver.log.join('').slice(-3000)}`,
      );
    const r = cp.kubectl(['get', '--raw', '/readyz'], { timeoutMs: 5000 });
    if (r.status === 0 && r.stdout.trim() === 'ok') return;
    if (Date.now() - start > 90_000) throw new Error(`kube-apiserver not ready after 90 s: ${r.stderr}`);
    await sleep(300);
  }
}

/**
 * Argo CD's own controllers, built by scripts/build-argocd.sh, run as processes against a test
 * control plane (issue 24): the repo server, the application controller and the ApplicationSet
 * controller, with Redis, Argo CD's CRDs and its minimal config objects in the `argocd` namespace.
 *
 * They run on this host's network, each in a mount namespace of its own whose /etc/hosts maps the
 * names the committed dist/argocd/ uses (the git server, each cluster's API server) to the test's
 * addresses, so that the committed YAML is synced as written. The git server's CA is given the
 * way a user gives a private CA: a file named after the host in Argo CD's TLS data path (what the
 * argocd-tls-certs-cm ConfigMap mounts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { sleep, until } from '../helpers/wait.js';
import { type ControlPlane, type LoggedProc, spawnLogged, stopChild } from './control-plane.js';
import { DIST_ROOT, type Obj } from './dist.js';

export const ARGOCD_BIN = join(import.meta.dirname, '..', '..', '.argocd-build', 'bin');
export const ARGOCD_VERSION = 'v3.6.2';
export const ARGOCD_NS = 'argocd';

export function argocdMissing(): string | undefined {
  for (const b of ['argocd-application-controller', 'argocd-repo-server', 'argocd-applicationset-controller'])
    if (!existsSync(join(ARGOCD_BIN, b)))
      return `${b} is not built: run scripts/build-argocd.sh (npm run test:argocd does)`;
  return undefined;
}

/** A cluster Argo CD deploys to, registered as a cluster Secret (what `argocd cluster add` makes). */
export interface ArgoCluster {
  /** The cluster's name in Argo CD: the ApplicationSet's `{{.name}}`. */
  readonly name: string;
  /** The API server URL it is registered under (a name mapped in the processes' /etc/hosts). */
  readonly server: string;
  readonly cp: ControlPlane;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ArgoCdOptions {
  /** The control plane Argo CD runs in (its `argocd` namespace, `kubernetes.default.svc`). */
  readonly home: ControlPlane;
  readonly dir: string;
  /** A loopback address of this host for Redis and the controllers' ports. */
  readonly loopbackIP: string;
  /** Host name -> address, for the processes' /etc/hosts. */
  readonly hosts: Readonly<Record<string, string>>;
  /** Host name -> CA certificate file, for Argo CD's TLS data path. */
  readonly tlsCerts: Readonly<Record<string, string>>;
  readonly clusters: readonly ArgoCluster[];
  /** The first of the ports its processes listen on (ten in a row). @default 18080 */
  readonly portBase?: number;
  /** How often Argo CD looks at git and at each Application, in seconds. @default 10 */
  readonly resyncSeconds?: number;
}

export interface ArgoCd {
  /** An Application (or undefined while it does not exist). */
  app(name: string): Obj | undefined;
  /** Every Application's name. */
  appNames(): string[];
  /** Asks for a refresh now (the `argocd.argoproj.io/refresh` annotation the CLI sets). */
  refresh(name: string): void;
  /** The last lines each process printed. */
  logs(): string;
  stop(): Promise<void>;
}

/** An Argo CD process in a mount namespace of its own: /etc/hosts with the test's names, nothing else. */
function startIn(
  logDir: string,
  hostsFile: string,
  name: string,
  args: readonly string[],
  env: Record<string, string>,
): LoggedProc {
  const bin = join(ARGOCD_BIN, `argocd-${name}`);
  return spawnLogged(
    name,
    'unshare',
    ['-m', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile, bin, ...args],
    // the whole log stays in the test's directory, for a failure's post-mortem
    { env: { ...process.env, ...env }, logFile: join(logDir, `${name}.log`), tail: 600 },
  );
}

const apply = (cp: ControlPlane, objs: readonly Obj[]) =>
  cp.kubectlOk(['apply', '--server-side', '--field-manager=test-admin', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }),
  });

/** Registers `c` in Argo CD as a cluster Secret, with a ServiceAccount token of that cluster. */
function clusterSecret(c: ArgoCluster): Obj {
  // what `argocd cluster add` does in the target cluster: a ServiceAccount bound to cluster-admin
  apply(c.cp, [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'argocd-manager', namespace: 'kube-system' },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'argocd-manager' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'argocd-manager', namespace: 'kube-system' }],
    },
  ]);
  const token = c.cp.token('kube-system', 'argocd-manager');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `cluster-${c.name}`,
      namespace: ARGOCD_NS,
      labels: { 'argocd.argoproj.io/secret-type': 'cluster', ...c.labels },
    },
    stringData: {
      name: c.name,
      server: c.server,
      config: JSON.stringify({
        bearerToken: token,
        tlsClientConfig: { caData: readFileSync(c.cp.pki.caCert).toString('base64') },
      }),
    },
  };
}

export async function startArgoCd(o: ArgoCdOptions): Promise<ArgoCd> {
  const missing = argocdMissing();
  if (missing) throw new Error(missing);
  const cp = o.home;
  const resync = o.resyncSeconds ?? 10;
  const procs: LoggedProc[] = [];
  const stop = async () => {
    for (const p of [...procs].reverse()) await stopChild(p.child, 'SIGTERM', 5000);
  };

  // the config objects Argo CD's install manifests hold, minimal
  cp.kubectlOk(['create', 'namespace', ARGOCD_NS]);
  const partOf = { 'app.kubernetes.io/part-of': 'argocd' };
  apply(cp, [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'argocd-cm',
        namespace: ARGOCD_NS,
        labels: { ...partOf, 'app.kubernetes.io/name': 'argocd-cm' },
      },
      data: { 'timeout.reconciliation': `${resync}s` },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'argocd-secret',
        namespace: ARGOCD_NS,
        labels: { ...partOf, 'app.kubernetes.io/name': 'argocd-secret' },
      },
      stringData: { 'server.secretkey': 'cluster-test-only' },
    },
    ...o.clusters.map(clusterSecret),
  ]);
  // the AppProjects: an admin applies them, they are never synced (docs/gitops.md)
  cp.kubectlOk([
    'apply',
    '--server-side',
    '--field-manager=test-admin',
    '-f',
    join(DIST_ROOT, 'argocd', 'projects.k8s.yaml'),
  ]);

  const hostsFile = join(o.dir, 'argocd-hosts');
  writeFileSync(
    hostsFile,
    `${readFileSync('/etc/hosts', 'utf8')}\n${Object.entries(o.hosts)
      .map(([n, ip]) => `${ip} ${n}`)
      .join('\n')}\n`,
  );
  const tlsDir = join(o.dir, 'argocd-tls');
  mkdirSync(tlsDir, { recursive: true });
  for (const [host, ca] of Object.entries(o.tlsCerts)) writeFileSync(join(tlsDir, host), readFileSync(ca));
  const sshDir = join(o.dir, 'argocd-ssh');
  mkdirSync(sshDir, { recursive: true });
  writeFileSync(join(sshDir, 'ssh_known_hosts'), '');
  const ip = o.loopbackIP;
  const b = o.portBase ?? 18080;
  // the controller's metrics listen on every address: each run its own ports
  const port = {
    redis: b,
    repo: b + 1,
    controllerMetrics: b + 2,
    repoMetrics: b + 4,
    appsetMetrics: b + 5,
    appsetProbe: b + 6,
    appsetWebhook: b + 7,
  };
  const env = {
    KUBECONFIG: cp.adminKubeconfig,
    // `https://kubernetes.default.svc` is this kubeconfig's cluster, as in-cluster it would be the pod's
    ARGOCD_FAKE_IN_CLUSTER: 'true',
    ARGOCD_TLS_DATA_PATH: tlsDir,
    ARGOCD_SSH_DATA_PATH: sshDir,
    ARGOCD_GPG_ENABLED: 'false',
    ARGOCD_RECONCILIATION_TIMEOUT: `${resync}s`,
    HOME: o.dir,
    // Argo CD's helper scripts (git-verify-wrapper.sh) sit next to its binary, as on its image's PATH
    PATH: `${ARGOCD_BIN}:${process.env.PATH}`,
  };

  procs.push(
    spawnLogged(
      'redis',
      'redis-server',
      [
        '--bind',
        ip,
        '--port',
        String(port.redis),
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
      ],
      { logFile: join(o.dir, 'redis.log') },
    ),
  );
  const redisAddr = `${ip}:${port.redis}`;
  const repoAddr = `${ip}:${port.repo}`;
  const start = (name: string, args: readonly string[]) =>
    procs.push(startIn(o.dir, hostsFile, name, args, env));
  try {
    start('repo-server', [
      `--address=${ip}`,
      `--port=${port.repo}`,
      `--metrics-address=${ip}`,
      `--metrics-port=${port.repoMetrics}`,
      '--disable-tls',
      // no mTLS between Argo CD's processes here (the default path is a mounted Secret)
      '--client-ca-path=',
      `--redis=${redisAddr}`,
      '--loglevel=info',
    ]);
    start('application-controller', [
      `--namespace=${ARGOCD_NS}`,
      `--redis=${redisAddr}`,
      `--repo-server=${repoAddr}`,
      '--repo-server-plaintext',
      `--app-resync=${resync}`,
      '--app-resync-jitter=0',
      '--self-heal-timeout-seconds=2',
      `--metrics-port=${port.controllerMetrics}`,
      '--loglevel=info',
    ]);
    start('applicationset-controller', [
      `--namespace=${ARGOCD_NS}`,
      `--argocd-repo-server=${repoAddr}`,
      '--repo-server-plaintext',
      `--metrics-addr=${ip}:${port.appsetMetrics}`,
      `--probe-addr=${ip}:${port.appsetProbe}`,
      `--webhook-addr=${ip}:${port.appsetWebhook}`,
      '--loglevel=info',
    ]);
    const exited = () => procs.find((p) => p.child.exitCode !== null);
    await until(
      'the repo server to listen',
      async () => {
        const gone = exited();
        if (gone)
          throw new Error(`${gone.name} exited ${gone.child.exitCode}: ${gone.log.join('').slice(-2000)}`);
        return await new Promise<boolean>((resolve) => {
          const s = connect(port.repo, ip, () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => setTimeout(() => resolve(false), 200));
        });
      },
      30_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }

  const get = (kind: string, name?: string): Obj | undefined => {
    const r = cp.kubectl(['-n', ARGOCD_NS, 'get', kind, ...(name ? [name] : []), '-o', 'json']);
    return r.status === 0 ? JSON.parse(r.stdout) : undefined;
  };
  return {
    app: (name) => get('applications.argoproj.io', name),
    appNames: () => ((get('applications.argoproj.io')?.items ?? []) as Obj[]).map((a) => a.metadata.name),
    refresh(name) {
      cp.kubectl([
        '-n',
        ARGOCD_NS,
        'annotate',
        '--overwrite',
        'applications.argoproj.io',
        name,
        'argocd.argoproj.io/refresh=hard',
      ]);
    },
    logs: () => procs.map((p) => `--- ${p.name}\n${p.log.join('').slice(-4000)}`).join('\n'),
    stop,
  };
}

/** Waits until an Application's sync and health are what the test wants, with its status on failure. */
export async function untilApp(
  argo: ArgoCd,
  name: string,
  want: (app: Obj) => boolean,
  what: string,
  ms: number,
): Promise<Obj> {
  let last: Obj | undefined;
  await until(
    `${name}: ${what}`,
    async () => {
      last = argo.app(name);
      if (last !== undefined && want(last)) return true;
      await sleep(1000);
      return false;
    },
    ms,
  ).catch((e) => {
    const s = last?.status;
    throw new Error(
      `${(e as Error).message}\nsync=${s?.sync?.status} health=${s?.health?.status} op=${s?.operationState?.phase}: ${s?.operationState?.message}\n` +
        `conditions=${JSON.stringify(s?.conditions ?? [])}\nresources not synced/healthy: ${JSON.stringify(
          (s?.resources ?? []).filter(
            (r: Obj) => r.status !== 'Synced' || (r.health && r.health.status !== 'Healthy'),
          ),
        )}`,
    );
  });
  return last;
}

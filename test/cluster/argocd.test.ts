/**
 * Argo CD for real (issue 24): Argo CD's own application controller, ApplicationSet controller and
 * repo server sync the committed dist/ from a git repository served on loopback, at the URL
 * dist/argocd/ names, into two real control planes (eu-west, where Argo CD runs, and us-east,
 * registered as a cluster Secret).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { sleep, until } from '../helpers/wait.js';
import { installCrds } from './apply.js';
import { type ArgoCd, startArgoCd, untilApp } from './argocd.js';
import { type AuditEvent, type ControlPlane, startControlPlane } from './control-plane.js';
import { DIST_ROOT, type Obj } from './dist.js';
import { type GitServer, startGitServer } from './git-server.js';
import { type Kubelet, startKubelet } from './kubelet.js';
import { type StandIns, startStandIns } from './stand-ins.js';

// ARGOCD_TEST_OCTET moves the whole test (networks, loopback address, ports) beside another run
const OCTET = Number(process.env.ARGOCD_TEST_OCTET ?? 210);
const ARGO_IP = `127.0.0.${OCTET - 130}`;
const SMOKE_JOB = 'udp-gateway-smoke-test';
const argoObjs: Obj[] = parseAllDocuments(
  readFileSync(join(DIST_ROOT, 'argocd', 'argocd.k8s.yaml'), 'utf8'),
).map((d) => d.toJS());
const appSet = argoObjs.find((o) => o.kind === 'ApplicationSet');
const root = argoObjs.find((o) => o.kind === 'Application');
const repoUrl = new URL(root.spec.source.repoURL);
const clusterLabels: Record<string, string> =
  appSet.spec.generators[0].matrix.generators[0].clusters.selector.matchLabels;

const synced = (a: Obj) => a.status?.sync?.status === 'Synced' && a.status?.health?.status === 'Healthy';
const EU_APP = 'stunner-eu-west';
const ARGOCD_USER = 'system:serviceaccount:kube-system:argocd-manager';

/**
 * The order README's "Sync waves" promises, from an object's kind and role alone (not from its
 * annotation, so that a wrong annotation shows): namespaces and RBAC, then config and secrets,
 * then gateways and backends, then demos.
 */
function intendedStage(o: Obj): number {
  if (
    ['Namespace', 'ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(
      o.kind,
    )
  )
    return 0;
  if (
    ['ConfigMap', 'Secret', 'SealedSecret', 'ExternalSecret', 'Certificate', 'NetworkPolicy'].includes(o.kind)
  )
    return 1;
  return o.metadata.labels?.['app.kubernetes.io/component'] === 'demo' ? 3 : 2;
}

/** Where each object was first written by Argo CD, by its position in the apiserver's audit log. */
function firstWrites(events: readonly AuditEvent[]): Map<string, number> {
  const at = new Map<string, number>();
  events.forEach((e, i) => {
    if (e.user.username !== ARGOCD_USER || !e.objectRef?.name || e.responseStatus?.code !== 201) return;
    if (/[?&]dryRun=/.test(e.requestURI) || !['create', 'patch'].includes(e.verb)) return;
    // a Namespace's audit objectRef names itself as its namespace
    const ns = e.objectRef.resource === 'namespaces' ? '' : (e.objectRef.namespace ?? '');
    const k = `${e.objectRef.resource}/${ns}/${e.objectRef.name}`;
    if (!at.has(k)) at.set(k, i);
  });
  return at;
}

const yamlObjects = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o && !o.metadata.annotations?.['argocd.argoproj.io/hook']);

// the audit log names the resource (plural), as the API paths do
const resourceOf = (o: Obj) => {
  const k = o.kind.toLowerCase();
  return k.endsWith('s') ? `${k}es` : k.endsWith('y') ? `${k.slice(0, -1)}ies` : `${k}s`;
};

/** How many of `objs` Argo CD created, and each pair created against the intended order. */
function orderCheck(
  events: readonly AuditEvent[],
  objs: readonly Obj[],
): { created: number; late: string[] } {
  const at = firstWrites(events);
  const written = objs
    .map((o) => ({ o, i: at.get(`${resourceOf(o)}/${o.metadata.namespace ?? ''}/${o.metadata.name}`) }))
    .filter((x): x is { o: Obj; i: number } => x.i !== undefined);
  const late: string[] = [];
  const name = (o: Obj) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
  for (const a of written)
    for (const b of written)
      if (intendedStage(a.o) < intendedStage(b.o) && a.i > b.i) late.push(`${name(a.o)} after ${name(b.o)}`);
  return { created: written.length, late };
}

/** One file of the git working copy, edited as YAML documents and written back. */
function editDist(git: GitServer, file: string, edit: (objs: Obj[]) => Obj[]): void {
  const path = join(git.workdir, 'dist', file);
  const objs = parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS());
  writeFileSync(
    path,
    edit(objs)
      .map((o) => `---\n${stringify(o)}`)
      .join(''),
  );
}

describe('Argo CD syncs the committed dist/ from git', () => {
  const dir = mkdtempSync(join(tmpdir(), 'argocd-test-'));
  let eu: ControlPlane;
  let us: ControlPlane;
  const kubelets: Kubelet[] = [];
  const standIns: StandIns[] = [];
  let git: GitServer;
  let argo: ArgoCd;

  beforeAll(async () => {
    eu = await startControlPlane('argo-eu-west', OCTET, {
      serverNames: ['eu-west.k8s.example.com'],
      audit: true,
    });
    us = await startControlPlane('argo-us-east', OCTET + 1, { serverNames: ['us-east.k8s.example.com'] });
    for (const cp of [eu, us]) {
      installCrds(cp);
      // the user's media app owns this namespace; the gateway's routes name it
      cp.kubectlOk(['create', 'namespace', 'media']);
      standIns.push(startStandIns(cp, cp === eu ? '198.51.100.20' : '198.51.100.21'));
    }
    kubelets.push(
      await startKubelet(eu, {
        syncConfigMaps: true,
        // both gateways of direct-call and their PostSync smoke tests run for real
        policy: (p) =>
          (p.metadata?.namespace === 'direct-call' &&
            p.metadata?.labels?.['app.kubernetes.io/name'] === 'stunner-gateway') ||
          p.metadata?.labels?.['app.kubernetes.io/name'] === 'stunner-smoke-test'
            ? 'run'
            : 'ready',
      }),
      await startKubelet(us, { policy: () => 'ready' }),
    );
    // out of band, as the direct-call chart's docs say: its namespace and the ephemeral credentials' secret
    eu.kubectlOk(['create', 'namespace', 'direct-call']);
    eu.kubectlOk([
      '-n',
      'direct-call',
      'create',
      'secret',
      'generic',
      'stunner-auth-secret',
      '--from-literal=secret=argo-secret-1',
    ]);

    git = await startGitServer({
      dir,
      host: repoUrl.hostname,
      listenIP: ARGO_IP,
      repoPath: repoUrl.pathname.slice(1),
      distDir: DIST_ROOT,
      cert: eu.pki.serving('git-server', [repoUrl.hostname]),
    });
    expect(git.url).toBe(root.spec.source.repoURL);
    argo = await startArgoCd({
      home: eu,
      dir,
      loopbackIP: ARGO_IP,
      portBase: 18000 + (OCTET - 200) * 10,
      hosts: {
        [repoUrl.hostname]: ARGO_IP,
        'eu-west.k8s.example.com': eu.net.nodeIP,
        'us-east.k8s.example.com': us.net.nodeIP,
      },
      tlsCerts: { [repoUrl.hostname]: eu.pki.caCert },
      clusters: [
        { name: 'eu-west', server: 'https://eu-west.k8s.example.com:6443', cp: eu, labels: clusterLabels },
        { name: 'us-east', server: 'https://us-east.k8s.example.com:6443', cp: us, labels: clusterLabels },
      ],
    });
  }, 300_000);

  afterAll(async () => {
    await argo?.stop();
    for (const s of standIns) await s.stop();
    for (const k of kubelets) await k.stop();
    await git?.close();
    await eu?.stop();
    await us?.stop();
    if (!process.env.KEEP_ARGOCD_TEST_DIR) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }, 120_000);

  it('syncs the root, whose ApplicationSet makes one Application per cluster, all Synced and Healthy', async () => {
    eu.kubectlOk(['apply', '--server-side', '--field-manager=test-admin', '-f', '-'], {
      input: JSON.stringify(root),
    });
    try {
      await untilApp(argo, 'root', synced, 'Synced and Healthy', 120_000);
      // Synced and Healthy, and the sync operation over (its PostSync hooks run after the rest is healthy)
      for (const c of ['eu-west', 'us-east'])
        await untilApp(
          argo,
          `stunner-${c}`,
          (a) => synced(a) && a.status?.operationState?.phase === 'Succeeded',
          'Synced and Healthy, its sync Succeeded',
          300_000,
        );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${argo.logs()}`);
    }
    expect(argo.appNames().sort()).toEqual(['root', 'stunner-eu-west', 'stunner-us-east']);
    // the first sync ran the PostSync smoke test, which passed
    const hook = argo
      .app(EU_APP)
      .status.operationState.syncResult.resources.find((r: Obj) => r.kind === 'Job' && r.name === SMOKE_JOB);
    expect(hook).toMatchObject({ hookType: 'PostSync', hookPhase: 'Succeeded' });
  }, 900_000);

  it('creates in the order of the waves: RBAC, then config and secrets, then gateways, then demos (the apiserver audit log)', () => {
    // each chart with its namespace's runtime file, whose ConfigMap must come before the pods
    const objs = [
      'cloudretro',
      'direct-call',
      'janus',
      'media-gateway',
      'mediasoup',
      'simple-tunnel',
      ...['cloudretro', 'direct-call', 'janus', 'stunner', 'mediasoup', 'simple-tunnel'].map(
        (ns) => `stunnerd-runtime-${ns}`,
      ),
    ].flatMap((c) => yamlObjects(readFileSync(join(DIST_ROOT, 'eu-west', `${c}.k8s.yaml`), 'utf8')));
    const { created, late } = orderCheck(eu.auditEvents(), objs);
    // every object but the namespace the test made beforehand was created by Argo CD
    expect(created).toBe(objs.length - 1);
    expect(late.slice(0, 5)).toEqual([]);
  });

  it('applies the runtime ConfigMap server-side, as its sync option asks, where client-side apply is refused', () => {
    const cm = JSON.parse(
      eu.kubectlOk([
        '-n',
        'stunner',
        'get',
        'configmap',
        'stunnerd-runtime',
        '-o',
        'json',
        '--show-managed-fields',
      ]),
    );
    expect(cm.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
    expect(
      cm.metadata.managedFields.some(
        (f: Obj) => f.manager === 'argocd-controller' && f.operation === 'Apply',
      ),
    ).toBe(true);
    const result = argo
      .app(EU_APP)
      .status.operationState.syncResult.resources.find(
        (r: Obj) => r.kind === 'ConfigMap' && r.name === 'stunnerd-runtime',
      );
    expect(result.message).toMatch(/serverside-applied/);
    // the same object, client-side: its whole body would go into an annotation
    const committed = yamlObjects(
      readFileSync(join(DIST_ROOT, 'eu-west', 'stunnerd-runtime-stunner.k8s.yaml'), 'utf8'),
    ).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'stunnerd-runtime');
    const csa = eu.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(committed) });
    expect(csa.status).not.toBe(0);
    expect(csa.stderr).toMatch(/Too long: may not be more than 262144 bytes/);
  });

  /** Commits, asks Argo CD to look now, and waits until the Application at that revision is `want`. */
  const commitAndWait = async (
    message: string,
    want: (app: Obj, rev: string) => boolean,
    what: string,
    ms: number,
  ): Promise<Obj> => {
    const rev = git.commit(message);
    argo.refresh(EU_APP);
    return untilApp(argo, EU_APP, (a) => want(a, rev), `${what} at ${rev.slice(0, 7)} (${message})`, ms);
  };

  // a sync waits for each wave's health in turn, and runs the smoke tests last: minutes on 2 cores
  const commitAndSync = (message: string, ms = 420_000): Promise<Obj> =>
    commitAndWait(
      message,
      (a, rev) =>
        a.status?.operationState?.syncResult?.revision === rev &&
        ['Succeeded', 'Failed', 'Error'].includes(a.status.operationState.phase),
      'the sync to end',
      ms,
    );

  /**
   * Commits and waits until the Application is Synced and Healthy at that revision. A commit that
   * only brings git back to what runs needs no sync operation: Argo CD starts none then.
   */
  const commitAndConverge = async (message: string, ms = 420_000): Promise<Obj> => {
    const app = await commitAndWait(
      message,
      (a, rev) =>
        a.status?.sync?.revision === rev &&
        synced(a) &&
        (a.status?.operationState?.syncResult?.revision !== rev ||
          a.status.operationState.phase !== 'Running'),
      'Synced and Healthy',
      ms,
    );
    if (app.status.operationState?.syncResult?.revision === app.status.sync.revision)
      expect(app.status.operationState.phase).toBe('Succeeded');
    return app;
  };

  it("marks a hand edit of a gateway's Service OutOfSync, and self-heal puts it back", async () => {
    const svc = () =>
      JSON.parse(eu.kubectlOk(['-n', 'stunner', 'get', 'service', 'udp-gateway', '-o', 'json']));
    const before = svc();
    expect(before.spec.externalTrafficPolicy).toBe('Local');
    const edited = Date.now();
    // a hand edit that loses the clients' source addresses (the perimeter's and the logs')
    eu.kubectlOk([
      '-n',
      'stunner',
      'patch',
      'service',
      'udp-gateway',
      '-p',
      '{"spec":{"externalTrafficPolicy":"Cluster"}}',
    ]);
    await until(
      'self-heal to restore the policy',
      async () => {
        if (svc().spec.externalTrafficPolicy === 'Local') return true;
        await sleep(500);
        return false;
      },
      120_000,
    );
    // Argo CD's own record, as Events on the Application: it saw the drift and synced it away
    const events = JSON.parse(
      eu.kubectlOk([
        '-n',
        'argocd',
        'get',
        'events',
        '--field-selector',
        `involvedObject.name=${EU_APP}`,
        '-o',
        'json',
      ]),
    ).items.filter((e: Obj) => Date.parse(e.lastTimestamp ?? e.eventTime) >= edited - 1000);
    const messages = events.map((e: Obj) => e.message).join('\n');
    expect(messages).toMatch(/Synced -> OutOfSync/);
    expect(messages).toMatch(/Initiated automated sync/);
    expect(svc().metadata.uid).toBe(before.metadata.uid);
    await untilApp(argo, EU_APP, synced, 'Synced and Healthy again', 120_000);
  }, 300_000);

  it('refuses a commit with an unknown field before it applies anything (server-side apply), and takes the commit that fixes it', async () => {
    // With server-side apply Argo CD diffs server-side too: the apiserver refuses a field its
    // schema does not declare, so Argo CD reports a ComparisonError and starts no sync; with its
    // client-side apply the field was dropped with a warning and the sync Succeeded.
    expect(appSet.spec.template.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    const file = join(git.workdir, 'dist', 'eu-west', 'media-gateway.k8s.yaml');
    const original = readFileSync(file, 'utf8');
    const svc = () =>
      JSON.parse(eu.kubectlOk(['-n', 'stunner', 'get', 'service', 'udp-gateway', '-o', 'json']));
    const before = svc().metadata.resourceVersion;
    editDist(git, join('eu-west', 'media-gateway.k8s.yaml'), (objs) =>
      objs.map((o) =>
        o.kind === 'Service' ? { ...o, spec: { ...o.spec, externalTrafficPolicyy: 'Local' } } : o,
      ),
    );
    try {
      const app = await commitAndWait(
        'a typo in a Service',
        (a, rev) =>
          a.status?.sync?.revision === rev &&
          (a.status?.conditions ?? []).some((c: Obj) => c.type === 'ComparisonError'),
        'a ComparisonError for the typo',
        180_000,
      );
      expect(app.status.sync.status).toBe('Unknown');
      expect(app.status.conditions.find((c: Obj) => c.type === 'ComparisonError').message).toMatch(
        /Service\/udp-gateway: .*\.spec\.externalTrafficPolicyy: field not declared in schema/,
      );
      // nothing of that commit was applied
      expect(app.status.operationState?.syncResult?.revision).not.toBe(app.status.sync.revision);
      expect(svc().metadata.resourceVersion).toBe(before);
    } finally {
      writeFileSync(file, original);
    }
    await commitAndConverge('the typo fixed');
  }, 900_000);

  it('fails the sync, naming the PostSync smoke test, when a commit removes the route media needs', async () => {
    const started = Date.now();
    const file = join(git.workdir, 'dist', 'eu-west', 'direct-call.k8s.yaml');
    const original = readFileSync(file, 'utf8');
    editDist(git, join('eu-west', 'direct-call.k8s.yaml'), (objs) =>
      objs.map((o) => {
        if (o.kind !== 'ConfigMap' || o.metadata.name !== 'udp-gateway-config') return o;
        const conf = JSON.parse(o.data['stunnerd.conf']);
        for (const l of conf.listeners) l.routes = [];
        return { ...o, data: { ...o.data, 'stunnerd.conf': JSON.stringify(conf, null, 2) } };
      }),
    );
    try {
      const op =
        // Argo CD v3 retries a failed automated sync 5 times (5 s, doubling): the verdict takes minutes
        (await commitAndSync('the direct-call route removed', 840_000)).status.operationState;
      expect(op.phase).toBe('Failed');
      // the result names the hook that failed, with the job controller's reason
      expect(
        op.syncResult.resources.find((r: Obj) => r.kind === 'Job' && r.name === SMOKE_JOB),
      ).toMatchObject({
        hookType: 'PostSync',
        hookPhase: 'Failed',
        message: expect.stringMatching(/backoff limit|deadline/),
      });
      // and for the right reason: the gateway refused the peer the route no longer admits
      const hookPods = [...kubelets[0]!.running.values()].filter((p) => p.name.startsWith(SMOKE_JOB));
      expect(hookPods.at(-1)?.output()).toMatch(/403/);
      console.log(
        `route removed: the sync ended Failed after ${Math.round((Date.now() - started) / 1000)} s`,
      );
    } finally {
      writeFileSync(file, original);
    }
    await commitAndConverge('the route back');
  }, 1_500_000);

  it('prunes a demo removed from git, and touches nothing it does not own', async () => {
    const uid = (ns: string, kind: string, name: string) =>
      eu.kubectl(['-n', ns, 'get', kind, name, '-o', 'jsonpath={.metadata.uid}']).stdout;
    const kept = [
      ['stunner', 'deployment', 'udp-gateway'],
      ['stunner', 'configmap', 'stunnerd-runtime'],
      ['direct-call', 'deployment', 'udp-gateway'],
      ['direct-call', 'secret', 'stunner-auth-secret'],
    ] as const;
    const uids = kept.map(([ns, k, n]) => uid(ns, k, n));
    expect(uids.every((u) => u !== '')).toBe(true);
    expect(uid('simple-tunnel', 'deployment', 'udp-gateway')).not.toBe('');
    // both files of the demo: its chart and its namespace's runtime (npm run synth removes both)
    for (const f of ['simple-tunnel.k8s.yaml', 'stunnerd-runtime-simple-tunnel.k8s.yaml'])
      rmSync(join(git.workdir, 'dist', 'eu-west', f));
    expect((await commitAndSync('the simple-tunnel demo removed')).status.operationState.phase).toBe(
      'Succeeded',
    );
    await until(
      'the simple-tunnel namespace and its objects pruned',
      async () => {
        if (eu.kubectl(['get', 'namespace', 'simple-tunnel']).status !== 0) return true;
        await sleep(1000);
        return false;
      },
      120_000,
    );
    expect(kept.map(([ns, k, n]) => uid(ns, k, n))).toEqual(uids);
    await untilApp(argo, EU_APP, synced, 'Synced and Healthy after the prune', 120_000);
  }, 300_000);

  it('shows a planted wrong wave: the demo re-added with its gateway Deployment in the RBAC wave', async () => {
    const mark = eu.auditEvents().length;
    const text = readFileSync(join(DIST_ROOT, 'eu-west', 'simple-tunnel.k8s.yaml'), 'utf8');
    writeFileSync(join(git.workdir, 'dist', 'eu-west', 'simple-tunnel.k8s.yaml'), text);
    const runtime = 'stunnerd-runtime-simple-tunnel.k8s.yaml';
    writeFileSync(
      join(git.workdir, 'dist', 'eu-west', runtime),
      readFileSync(join(DIST_ROOT, 'eu-west', runtime), 'utf8'),
    );
    editDist(git, join('eu-west', 'simple-tunnel.k8s.yaml'), (objs) =>
      objs.map((o) =>
        o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/name'] === 'stunner-gateway'
          ? {
              ...o,
              metadata: {
                ...o.metadata,
                annotations: { ...o.metadata.annotations, 'argocd.argoproj.io/sync-wave': '-2' },
              },
            }
          : o,
      ),
    );
    await commitAndSync('simple-tunnel back, its gateway Deployment planted in wave -2');
    const { created, late } = orderCheck(eu.auditEvents().slice(mark), yamlObjects(text));
    expect(created).toBeGreaterThan(5);
    // the check that passes on the committed waves names the planted object
    expect(late.some((l) => /after Deployment simple-tunnel\/udp-gateway$/.test(l))).toBe(true);
  }, 900_000);
});

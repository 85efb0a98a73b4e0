/**
 * Argo CD for real (issue 24): Argo CD's own application controller, ApplicationSet controller and
 * repo server sync the committed dist/ from a git repository served on loopback, at the URL
 * dist/argocd/ names, into two real control planes (eu-west, where Argo CD runs, and us-east,
 * registered as a cluster Secret).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type ArgoCd, startArgoCd, untilApp } from './argocd.js';
import { installCrds } from './apply.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';
import { DIST_ROOT, type Obj } from './dist.js';
import { type GitServer, startGitServer } from './git-server.js';
import { type Kubelet, startKubelet } from './kubelet.js';
import { type StandIns, startStandIns } from './stand-ins.js';

const ARGO_IP = '127.0.0.80';
const SMOKE_JOB = 'udp-gateway-smoke-test';
const argoObjs: Obj[] = parseAllDocuments(readFileSync(join(DIST_ROOT, 'argocd', 'argocd.k8s.yaml'), 'utf8')).map(
  (d) => d.toJS(),
);
const appSet = argoObjs.find((o) => o.kind === 'ApplicationSet');
const root = argoObjs.find((o) => o.kind === 'Application');
const repoUrl = new URL(root.spec.source.repoURL);
const clusterLabels: Record<string, string> = appSet.spec.generators[0].matrix.generators[0].clusters.selector.matchLabels;

const synced = (a: Obj) => a.status?.sync?.status === 'Synced' && a.status?.health?.status === 'Healthy';

describe('Argo CD syncs the committed dist/ from git', () => {
  const dir = mkdtempSync(join(tmpdir(), 'argocd-test-'));
  let eu: ControlPlane;
  let us: ControlPlane;
  const kubelets: Kubelet[] = [];
  const standIns: StandIns[] = [];
  let git: GitServer;
  let argo: ArgoCd;

  beforeAll(async () => {
    eu = await startControlPlane('argo-eu-west', 210, { serverNames: ['eu-west.k8s.example.com'] });
    us = await startControlPlane('argo-us-east', 211, { serverNames: ['us-east.k8s.example.com'] });
    for (const cp of [eu, us]) {
      installCrds(cp);
      // the user's media app owns this namespace; the gateway's routes name it
      cp.kubectlOk(['create', 'namespace', 'media']);
      standIns.push(startStandIns(cp, cp === eu ? '198.51.100.20' : '198.51.100.21'));
    }
    kubelets.push(
      await startKubelet(eu, {
        policy: (p) =>
          (p.metadata?.namespace === 'direct-call' &&
            p.metadata?.labels?.['app.kubernetes.io/name'] === 'stunner-gateway') ||
          p.metadata?.name?.startsWith(SMOKE_JOB)
            ? 'run'
            : 'ready',
      }),
      await startKubelet(us, { policy: () => 'ready' }),
    );
    // out of band, as the direct-call chart's docs say: its namespace and the ephemeral credentials' secret
    eu.kubectlOk(['create', 'namespace', 'direct-call']);
    eu.kubectlOk(['-n', 'direct-call', 'create', 'secret', 'generic', 'stunner-auth-secret', '--from-literal=secret=argo-secret-1']);

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
    eu.kubectlOk(['apply', '--server-side', '--field-manager=test-admin', '-f', '-'], { input: JSON.stringify(root) });
    try {
      await untilApp(argo, 'root', synced, 'Synced and Healthy', 120_000);
      for (const c of ['eu-west', 'us-east'])
        await untilApp(argo, `stunner-${c}`, synced, 'Synced and Healthy', 300_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${argo.logs()}`);
    }
    expect(argo.appNames().sort()).toEqual(['root', 'stunner-eu-west', 'stunner-us-east']);
  }, 600_000);
});

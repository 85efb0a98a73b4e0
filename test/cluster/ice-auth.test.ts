/**
 * The ICE auth service on a real apiserver (issue 23): the committed direct-call chart's auth pod
 * runs with its ServiceAccount's bound token and the rendered Role; a cloud-controller stand-in
 * sets the gateway Service's load-balancer address, which must show up in the `/ice` answer and in
 * `stunnerctl auth`. An apiserver outage keeps the last known answer (nothing widens, nothing is
 * lost), and after the restart the service follows a new address.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { installCrds, syncChart } from './apply.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';
import { loadCluster } from './dist.js';
import { type Kubelet, startKubelet } from './kubelet.js';
import { setLoadBalancer } from './stand-ins.js';

const NS = 'direct-call';
const STUNNERCTL = join(import.meta.dirname, '..', '..', 'bin', 'stunnerctl.mjs');
// documentation addresses (RFC 5737): reported, never sent to
const LB_1 = '198.51.100.7';
const LB_2 = '198.51.100.8';

describe('the ICE auth service follows the real apiserver', () => {
  let cp: ControlPlane;
  let kubelet: Kubelet;
  let authIP: string;

  /** The cloud-controller stand-in: a LoadBalancer Service's address. */
  const setLB = (svc: string, ip: string) => setLoadBalancer(cp, NS, svc, ip);

  const iceUrls = async (): Promise<string[]> => {
    const r = await fetch(`http://${authIP}:8088/ice?service=turn&username=cluster-test`, {
      signal: AbortSignal.timeout(2000),
    });
    if (r.status !== 200) throw new Error(`/ice answered ${r.status}: ${await r.text()}`);
    const body = (await r.json()) as { iceServers: { urls: string[] }[] };
    return body.iceServers.flatMap((s) => s.urls);
  };

  beforeAll(async () => {
    cp = await startControlPlane('ice-auth', 206);
    installCrds(cp);
    kubelet = await startKubelet(cp, {
      policy: (p) =>
        ['stunner-gateway', 'stunner-auth'].includes(p.metadata?.labels?.['app.kubernetes.io/name'] ?? '') ||
        p.metadata?.name?.startsWith('stunner-auth-')
          ? 'run'
          : 'ready',
    });
    const objs = loadCluster('eu-west', ['direct-call.k8s.yaml', 'stunnerd-runtime-direct-call.k8s.yaml']);
    // the Secrets the chart's docs say to create out of band
    syncChart(cp, objs, NS, { 'stunner-auth-secret': { secret: 'ice-secret-1' } });
    await until(
      'the auth pod running',
      () => [...kubelet.running.values()].some((p) => p.name.startsWith('stunner-auth-')),
      60_000,
    ).catch((e) => {
      throw new Error(
        `${(e as Error).message}\n${kubelet.errors.join('\n')}\n${cp.kubectl(['-n', NS, 'get', 'pods', '--show-labels']).stdout}`,
      );
    });
    authIP = [...kubelet.running.values()].find((p) => p.name.startsWith('stunner-auth-'))!.ip;
    await until(
      'the auth service live',
      async () =>
        fetch(`http://${authIP}:8088/live`, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.status === 200,
          () => false,
        ),
      60_000,
    ).catch((e) => {
      const p = [...kubelet.running.values()].find((x) => x.name.startsWith('stunner-auth-'));
      throw new Error(`${(e as Error).message}\n${p?.output().slice(-3000)}\n${kubelet.errors.join('\n')}`);
    });
  });

  afterAll(async () => {
    await kubelet?.stop();
    await cp?.stop();
  });

  it('answers with the load-balancer address the cloud stand-in sets, as does stunnerctl auth', async () => {
    setLB('udp-gateway', LB_1);
    await until(`/ice names ${LB_1}`, async () => (await iceUrls()).some((u) => u.includes(LB_1)), 15_000);
    const auth = spawnSync(
      process.execPath,
      [STUNNERCTL, 'auth', 'udp-gateway', '-o', 'json', '--kubeconfig', cp.adminKubeconfig, '-n', NS],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(auth.status, auth.stderr).toBe(0);
    expect(auth.stdout).toContain(LB_1);
    // the auth pod was refused nothing by the apiserver
    const p = [...kubelet.running.values()].find((x) => x.name.startsWith('stunner-auth-'))!;
    expect(p.output()).not.toMatch(/not allowed \(HTTP 403\)/);
  });

  it('keeps answering through an apiserver outage, then follows a new address', async () => {
    await cp.stopApiserver();
    // the API is gone: no change can reach the service, and it still answers what it knew
    expect(cp.kubectl(['get', 'ns'], { timeoutMs: 5000 }).status).not.toBe(0);
    for (let i = 0; i < 5; i++) expect((await iceUrls()).some((u) => u.includes(LB_1))).toBe(true);
    await cp.startApiserver();
    setLB('udp-gateway', LB_2);
    await until(
      `/ice names ${LB_2} after the restart`,
      async () => (await iceUrls()).some((u) => u.includes(LB_2)),
      30_000,
    );
    expect((await iceUrls()).some((u) => u.includes(LB_1))).toBe(false);
  });
});

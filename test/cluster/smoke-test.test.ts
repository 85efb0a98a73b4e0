/**
 * The PostSync smoke test on a real apiserver (issue 23): the committed direct-call chart is
 * applied as a sync would apply it, its gateway pod runs (the committed bundle, by the kubelet
 * stand-in), and then its GatewaySmokeTest hook Job: the real job controller must mark it
 * Complete when media flows, and Failed when the gateway's config no longer routes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { applyInOrder, deploymentAvailable, installCrds, syncChart } from './apply.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';
import { type DistObject, loadCluster, toYaml } from './dist.js';
import { type Kubelet, startKubelet } from './kubelet.js';

const NS = 'direct-call';
const JOB = 'udp-gateway-smoke-test';

describe('the PostSync smoke-test Job', () => {
  let cp: ControlPlane;
  let kubelet: Kubelet;
  let objs: DistObject[];

  const jobState = (): 'Complete' | 'Failed' | undefined => {
    const r = cp.kubectl(['-n', NS, 'get', 'job', JOB, '-o', 'json']);
    if (r.status !== 0) return undefined;
    const conds = (JSON.parse(r.stdout).status?.conditions ?? []) as { type: string; status: string }[];
    return conds.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type as
      | 'Complete'
      | 'Failed'
      | undefined;
  };
  const runHook = async (): Promise<'Complete' | 'Failed'> => {
    // BeforeHookCreation: the previous run goes first
    cp.kubectl([
      '-n',
      NS,
      'delete',
      'job',
      JOB,
      '--ignore-not-found',
      '--cascade=foreground',
      '--wait=false',
    ]);
    await until(
      'the previous hook Job gone',
      () => cp.kubectl(['-n', NS, 'get', 'job', JOB]).status !== 0,
      60_000,
    );
    expect(
      applyInOrder(
        cp,
        objs.filter((o) => o.phase === 'PostSync'),
      ),
    ).toEqual([]);
    let state: 'Complete' | 'Failed' | undefined;
    await until(
      'the hook Job to finish',
      () => {
        state = jobState();
        return state !== undefined;
      },
      150_000,
    ).catch((e) => {
      const pods = [...kubelet.running.values()].filter((p) => p.name.startsWith(JOB));
      throw new Error(`${(e as Error).message}\n${pods.map((p) => p.output().slice(-2000)).join('\n')}`);
    });
    return state!;
  };
  const gatewayServing = () => deploymentAvailable(cp, NS, 'udp-gateway');

  beforeAll(async () => {
    cp = await startControlPlane('smoke', 205);
    installCrds(cp);
    kubelet = await startKubelet(cp, {
      // the gateway and the hook's pod run for real; the demo's own servers only need addresses
      policy: (p) =>
        p.metadata?.labels?.['app.kubernetes.io/name'] === 'stunner-gateway' ||
        p.metadata?.name?.startsWith(JOB)
          ? 'run'
          : 'ready',
    });
    objs = loadCluster('eu-west', ['direct-call.k8s.yaml', 'stunnerd-runtime-direct-call.k8s.yaml']);
    // the shared secret of the ephemeral credentials, created out of band as the chart's docs say
    syncChart(cp, objs, NS, { 'stunner-auth-secret': { secret: 'smoke-secret-1' } });
    await until('the gateway available', gatewayServing, 60_000);
  });

  afterAll(async () => {
    await kubelet?.stop();
    await cp?.stop();
  });

  it('ends Complete when media flows through the gateway', async () => {
    expect(objs.filter((o) => o.phase === 'PostSync').map((o) => o.obj.kind)).toContain('Job');
    expect(await runHook()).toBe('Complete');
  });

  it('ends Failed when the gateway no longer routes it (the route removed from its config)', async () => {
    const cm = objs.find((o) => o.obj.kind === 'ConfigMap' && o.obj.metadata.name === 'udp-gateway-config')!;
    const planted = structuredClone(cm.obj);
    const conf = JSON.parse(planted.data['stunnerd.conf']);
    for (const l of conf.listeners) l.routes = [];
    planted.data['stunnerd.conf'] = JSON.stringify(conf, null, 2);
    cp.kubectlOk(
      ['apply', '--server-side', '--force-conflicts', '--field-manager=argocd-controller', '-f', '-'],
      {
        input: toYaml([planted]),
      },
    );
    // the stand-in mounts a ConfigMap once: a new pod reads the new config (a kubelet would update the file)
    cp.kubectlOk(['-n', NS, 'delete', 'pod', '-l', 'app.kubernetes.io/name=stunner-gateway', '--wait=false']);
    await until(
      'a gateway pod on the new config',
      () => {
        const pods = [...kubelet.running.values()].filter((p) => p.name.startsWith('udp-gateway-'));
        return (
          pods.some((p) => /ready/.test(p.output()) && p.output().includes('stunnerd ready')) &&
          pods.length >= 2
        );
      },
      60_000,
    );
    await until('the gateway available again', gatewayServing, 60_000);
    expect(await runHook()).toBe('Failed');
    // and for the right reason: the gateway refused the peer
    const hookPods = [...kubelet.running.values()].filter((p) => p.name.startsWith(JOB));
    expect(hookPods.at(-1)?.output()).toMatch(/403/);
  });
});

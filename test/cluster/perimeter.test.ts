/**
 * The perimeter follows the real controllers (issue 23): the committed simple-tunnel chart runs on
 * a real apiserver, its gateway pod is the committed bundle run by the kubelet stand-in with its
 * ServiceAccount's own token (TokenRequest, bound to the pod), and the route's backend is a
 * Deployment whose EndpointSlices the real endpointslice controller writes. Scaling the backend
 * 1 -> 3 -> 1 must open the relay to the new pods and close it to the removed ones.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TurnClient, TurnError } from '../helpers/turn-client.js';
import { until } from '../helpers/wait.js';
import { deploymentAvailable, installCrds, syncChart } from './apply.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';
import { loadCluster } from './dist.js';
import { type Kubelet, startKubelet } from './kubelet.js';

const NS = 'simple-tunnel';
const USER = 'user-1';
const PASS = 'pass-1';
/** How soon the relay must follow a change of the backend's pods. */
const FOLLOW_MS = 10_000;
const STUNNERCTL = join(import.meta.dirname, '..', '..', 'bin', 'stunnerctl.mjs');

describe('the perimeter follows the real endpointslice controller', () => {
  let cp: ControlPlane;
  let kubelet: Kubelet;
  let client: TurnClient;

  const podIPs = (app: string) =>
    [...kubelet.ips.entries()]
      .filter(([k]) => k.startsWith(`${NS}/${app}-`))
      .map(([, ip]) => ip)
      .sort();

  const admits = async (ip: string): Promise<boolean> => {
    try {
      await client.createPermission(ip);
      return true;
    } catch (e) {
      if (e instanceof TurnError && e.code === 403) return false;
      throw e;
    }
  };

  beforeAll(async () => {
    cp = await startControlPlane('perimeter', 204);
    installCrds(cp);
    kubelet = await startKubelet(cp, {
      policy: (p) => (p.metadata?.labels?.['app.kubernetes.io/name'] === 'stunner-gateway' ? 'run' : 'ready'),
    });
    const objs = loadCluster('eu-west', [
      'simple-tunnel.k8s.yaml',
      'stunnerd-runtime-simple-tunnel.k8s.yaml',
    ]);
    // the Secrets the chart's docs say to create out of band
    syncChart(cp, objs, NS, { 'stunner-auth': { username: USER, password: PASS } });
    // poll, never `kubectl wait`: a blocking child would stall the kubelet stand-in in this process
    const available = (name: string) => deploymentAvailable(cp, NS, name);
    await until(
      'the gateway and the backend available',
      () => available('udp-gateway') && available('udp-greeter'),
      60_000,
    ).catch((e) => {
      const pods = [...kubelet.running.values()].map(
        (p) => `--- ${p.name} (${p.ip})\n${p.output().slice(-3000)}`,
      );
      const state = cp.kubectl(['get', 'pods,events', '-A', '-o', 'wide']).stdout;
      throw new Error(
        `${(e as Error).message}\nkubelet: ${kubelet.errors.join('\n')}\n${pods.join('\n')}\n${state}`,
      );
    });
    const [gw] = podIPs('udp-gateway');
    expect(gw, 'the gateway pod has an address').toBeDefined();
    client = await TurnClient.open({
      host: gw!,
      port: 3478,
      username: USER,
      password: PASS,
      localAddress: cp.net.hostIP,
    });
    await client.allocate();
  });

  afterAll(async () => {
    client?.close();
    await kubelet?.stop();
    await cp?.stop();
  });

  it('admits the backend pods the controller lists, and nothing else', async () => {
    const [greeter] = podIPs('udp-greeter');
    expect(greeter).toBeDefined();
    await until('the relay admits the backend pod', () => admits(greeter!), FOLLOW_MS);
    // an address in the pods' network that no route names
    expect(await admits(cp.net.nodeIP)).toBe(false);
    // the rendered RBAC is enough: the watcher was refused nothing
    const gw = [...kubelet.running.values()].find((p) => p.name.startsWith('udp-gateway-'));
    expect(gw?.output()).not.toMatch(/forbidden|403/i);
  });

  it(`scaling the backend 1 -> 3 -> 1: new pods admitted and removed pods refused within ${FOLLOW_MS / 1000} s`, async () => {
    const before = podIPs('udp-greeter');
    expect(before).toHaveLength(1);
    cp.kubectlOk(['-n', NS, 'scale', 'deployment/udp-greeter', '--replicas=3']);
    await until('3 backend pods with addresses', () => podIPs('udp-greeter').length === 3, 30_000);
    const added = podIPs('udp-greeter').filter((ip) => !before.includes(ip));
    expect(added).toHaveLength(2);
    const t0 = Date.now();
    for (const ip of added) await until(`the relay admits new pod ${ip}`, () => admits(ip), FOLLOW_MS);
    const upMs = Date.now() - t0;

    cp.kubectlOk(['-n', NS, 'scale', 'deployment/udp-greeter', '--replicas=1']);
    await until('1 backend pod left', () => podIPs('udp-greeter').length === 1, 60_000);
    const removed = [...before, ...added].filter((ip) => !podIPs('udp-greeter').includes(ip));
    expect(removed).toHaveLength(2);
    const t1 = Date.now();
    for (const ip of removed)
      await until(`the relay refuses removed pod ${ip}`, async () => !(await admits(ip)), FOLLOW_MS);
    const downMs = Date.now() - t1;
    console.log(`perimeter followed scale-up in ${upMs} ms, scale-down in ${downMs} ms`);
  });

  it('stunnerctl reads the live cluster with a kubeconfig: config, status, auth and graph', () => {
    const ctl = (args: string[]) =>
      spawnSync(process.execPath, [STUNNERCTL, ...args, '--kubeconfig', cp.adminKubeconfig, '-n', NS], {
        encoding: 'utf8',
        timeout: 30_000,
      });
    const config = ctl(['config', '-o', 'json']);
    expect(config.stderr).toBe('');
    expect(config.status).toBe(0);
    expect(config.stdout).toContain('simple-tunnel/udp-gateway/udp-listener');
    expect(config.stdout).toContain('udp-greeter.simple-tunnel.svc.cluster.local');
    const status = ctl(['status']);
    expect(status.status, status.stdout + status.stderr).toBe(0);
    const graph = ctl(['graph']);
    expect(graph.status).toBe(0);
    expect(graph.stdout).toMatch(/flowchart LR[\s\S]*udp-greeter/);
    const auth = ctl(['auth', 'udp-gateway', '-o', 'json']);
    expect(auth.status, auth.stderr).toBe(0);
    expect(auth.stdout, auth.stdout).toContain(`"username": "${USER}"`);
  });

  // RBAC is minimal and sufficient: remove any one rule of the watcher's rendered Role and the
  // gateway's watcher is refused with the apiserver's 403, naming what it could not read.
  it('each rule of the rendered watcher Role is needed: removing it gets the watcher a 403', async () => {
    const role = JSON.parse(
      cp.kubectlOk(['-n', NS, 'get', 'role', 'simple-tunnel-udp-gateway-watcher', '-o', 'json']),
    );
    const rules = role.rules as { resources: string[] }[];
    expect(rules.map((r) => r.resources[0]).sort()).toEqual(['endpointslices', 'services']);
    // gateway pods run here; a deleted one drains on beside its successor
    const gatewayPods = () => [...kubelet.running.values()].filter((p) => p.name.startsWith('udp-gateway-'));
    const current = () => new Set(gatewayPods().map((p) => p.name));
    /** The gateway pod that is none of `before`. */
    const gatewayPod = (before: Set<string>) => gatewayPods().find((p) => !before.has(p.name));
    /** The serving pod: not draining, i.e. the one pod that no delete has touched. */
    let serving = gatewayPods()[0]!.name;
    for (const [i, rule] of rules.entries()) {
      const planted = {
        ...role,
        metadata: { name: role.metadata.name, namespace: NS },
        rules: rules.filter((_, j) => j !== i),
      };
      cp.kubectlOk(['replace', '-f', '-'], { input: JSON.stringify(planted) });
      const old = current();
      cp.kubectlOk(['-n', NS, 'delete', 'pod', serving, '--wait=false']);
      const what =
        rule.resources[0] === 'services'
          ? /Service simple-tunnel\/udp-g\w+: not allowed \(HTTP 403\)/
          : /EndpointSlices of simple-tunnel\/udp-greeter: not allowed \(HTTP 403\)/;
      await until(
        `the new gateway pod's watcher refused ${rule.resources[0]}`,
        () => {
          const p = gatewayPod(old);
          if (p !== undefined) serving = p.name;
          return p !== undefined && what.test(p.output());
        },
        30_000,
      ).catch((e) => {
        const p = gatewayPod(old);
        throw new Error(`${(e as Error).message}; pod ${p?.name}:\n${p?.output().slice(-2500)}`);
      });
    }
    // restored, a new pod is refused nothing
    cp.kubectlOk(['replace', '-f', '-'], {
      input: JSON.stringify({ ...role, metadata: { name: role.metadata.name, namespace: NS } }),
    });
    const old = current();
    cp.kubectlOk(['-n', NS, 'delete', 'pod', serving, '--wait=false']);
    await until('a new gateway pod', () => gatewayPod(old) !== undefined, 30_000);
    const fresh = gatewayPod(old)!;
    const [greeter] = podIPs('udp-greeter');
    // once the new pod admits the backend, its watcher has listed what it reads
    await until(
      'the new gateway pod admits the backend',
      async () => {
        let c: TurnClient | undefined;
        try {
          c = await TurnClient.open({
            host: fresh.ip,
            port: 3478,
            username: USER,
            password: PASS,
            localAddress: cp.net.hostIP,
            timeoutMs: 1000,
          });
          await c.allocate();
          await c.createPermission(greeter!);
          return true;
        } catch {
          return false;
        } finally {
          c?.close();
        }
      },
      30_000,
    ).catch((e) => {
      throw new Error(
        `${(e as Error).message}; pod ${fresh.name} ${fresh.ip}:\n${fresh.output().slice(-2500)}`,
      );
    });
    expect(fresh.output()).not.toMatch(/not allowed \(HTTP 403\)/);
  });
});

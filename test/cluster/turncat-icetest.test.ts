/**
 * The command-line tools against a real apiserver (issue 23): the committed simple-tunnel gateway
 * runs (its own pod, its ServiceAccount's bound token), and `turncat k8s://...` and
 * `stunnerctl icetest --kubeconfig` find it through the cluster as a user's kubeconfig shows it:
 * the gateway's ConfigMap, its Service's load-balancer address, its credentials Secret. Both relay
 * datagrams to an echo peer in the cluster network, where the backend Service's pod is; both fail
 * once the gateway pod is stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TurnClient, TurnError } from '../helpers/turn-client.js';
import { until } from '../helpers/wait.js';
import { deploymentAvailable, syncChart } from './apply.js';
import { type ControlPlane, startControlPlane, stopChild } from './control-plane.js';
import { loadCluster } from './dist.js';
import { type Kubelet, startKubelet } from './kubelet.js';
import { setLoadBalancer } from './stand-ins.js';

const NS = 'simple-tunnel';
const USER = 'user-1';
const PASS = 'pass-1';
const BIN = join(import.meta.dirname, '..', '..', 'bin');
const SERVER = `k8s://${NS}/udp-gateway:udp-listener`;
/** The backend Service's port (udp-greeter), the only one the route admits. */
const PEER_PORT = 9001;

interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool of bin/ without blocking this process (the kubelet stand-in runs in it). */
function runTool(
  args: readonly string[],
  o: { timeoutMs: number; feed?: (child: ChildProcess, stdout: () => string) => Promise<void> },
): Promise<ToolRun> {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
  return (async () => {
    try {
      if (o.feed) await o.feed(child, () => stdout);
      else child.stdin!.end();
      const code = await exited;
      return { code, stdout, stderr };
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  })();
}

describe('turncat and icetest against the real apiserver', () => {
  let cp: ControlPlane;
  let kubelet: Kubelet;
  let echo: ChildProcess | undefined;
  let echoOut = '';
  let gatewayIP: string;
  let peerIP: string;

  const gatewayPods = () => [...kubelet.running.values()].filter((p) => p.name.startsWith('udp-gateway-'));

  const turncat = (datagrams: readonly string[]) =>
    runTool(
      [
        join(BIN, 'turncat.mjs'),
        '--kubeconfig',
        cp.adminKubeconfig,
        '--timeout',
        '3000',
        '--linger',
        '500',
        '-',
        SERVER,
        `udp://${peerIP}:${PEER_PORT}`,
      ],
      {
        timeoutMs: 30_000,
        // one datagram at a time: each is echoed before the next is written
        feed: async (child, out) => {
          for (const d of datagrams) {
            if (child.exitCode !== null) break;
            child.stdin!.write(d);
            await until(`the echo of ${d}`, () => out().includes(d) || child.exitCode !== null, 10_000).catch(
              () => undefined,
            );
          }
          child.stdin!.end();
        },
      },
    );

  const icetest = () =>
    runTool(
      [
        join(BIN, 'stunnerctl.mjs'),
        'icetest',
        `${NS}/udp-gateway`,
        '--kubeconfig',
        cp.adminKubeconfig,
        '--peer',
        `udp://${peerIP}:${PEER_PORT}`,
        '--count',
        '20',
        '--timeout',
        '2000',
        '-o',
        'json',
      ],
      { timeoutMs: 60_000 },
    );

  beforeAll(async () => {
    cp = await startControlPlane('tools', 207);
    kubelet = await startKubelet(cp, {
      policy: (p) => (p.metadata?.labels?.['app.kubernetes.io/name'] === 'stunner-gateway' ? 'run' : 'ready'),
    });
    syncChart(
      cp,
      loadCluster('eu-west', ['simple-tunnel.k8s.yaml', 'stunnerd-runtime-simple-tunnel.k8s.yaml']),
      NS,
      {
        'stunner-auth': { username: USER, password: PASS },
      },
    );
    const available = (name: string) => deploymentAvailable(cp, NS, name);
    await until(
      'the gateway and the backend available',
      () => available('udp-gateway') && available('udp-greeter'),
      60_000,
    ).catch((e) => {
      const pods = gatewayPods().map((p) => `--- ${p.name}\n${p.output().slice(-3000)}`);
      throw new Error(`${(e as Error).message}\nkubelet: ${kubelet.errors.join('\n')}\n${pods.join('\n')}`);
    });
    gatewayIP = gatewayPods()[0]!.ip;
    peerIP = [...kubelet.ips.entries()].find(([k]) => k.startsWith(`${NS}/udp-greeter-`))![1];
    // The cloud stand-in: there is no load balancer or kube-proxy here, so the address that reaches
    // the gateway, and the one its Service's status reports, is its pod's.
    setLoadBalancer(cp, NS, 'udp-gateway', gatewayIP);
    // The echo peer, on the backend pod's address (a pod marked ready, with no process of its own):
    // icetest counts only its own datagrams back, which the greeter would prefix with its greeting.
    const script = `const s=require('node:dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(${PEER_PORT},process.argv[1],()=>console.log('echo ready'))`;
    echo = spawn('ip', ['netns', 'exec', cp.net.ns, process.execPath, '-e', script, peerIP], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    echo.stdout!.on('data', (b: Buffer) => {
      echoOut += b.toString();
    });
    echo.stderr!.on('data', (b: Buffer) => {
      echoOut += b.toString();
    });
    await until('the echo peer bound', () => echoOut.includes('echo ready'), 10_000).catch((e) => {
      throw new Error(`${(e as Error).message}: ${echoOut}`);
    });
    // the gateway admits the backend pod once its watcher has read the EndpointSlice
    const client = await TurnClient.open({
      host: gatewayIP,
      port: 3478,
      username: USER,
      password: PASS,
      localAddress: cp.net.hostIP,
    });
    try {
      await client.allocate();
      await until(
        'the gateway admits the backend pod',
        async () =>
          client.createPermission(peerIP).then(
            () => true,
            (e) => {
              if (e instanceof TurnError && e.code === 403) return false;
              throw e;
            },
          ),
        15_000,
      );
      // gone at once: a draining gateway waits for its allocations
      await client.refresh(0);
    } finally {
      client.close();
    }
  });

  afterAll(async () => {
    if (echo) await stopChild(echo, 'SIGKILL', 0);
    await kubelet?.stop();
    await cp?.stop();
  });

  it(`turncat ${SERVER} with a kubeconfig relays datagrams to the echo peer`, async () => {
    const datagrams = ['datagram-1', 'datagram-2', 'datagram-3', 'datagram-4', 'datagram-5'];
    const r = await turncat(datagrams);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(datagrams.join(''));
  });

  it('stunnerctl icetest with a kubeconfig finds the gateway and passes through it', async () => {
    const r = await icetest();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      results: { listener: string; server: string; ok: boolean; received: number }[];
    };
    expect(report.results).toEqual([
      expect.objectContaining({
        listener: `${NS}/udp-gateway/udp-listener`,
        server: `${gatewayIP}:3478`,
        ok: true,
        received: 20,
      }),
    ]);
  });

  it('both fail once the gateway pod is stopped', async () => {
    cp.kubectlOk(['-n', NS, 'scale', 'deployment/udp-gateway', '--replicas=0']);
    // the kubelet stand-in waits out the drain for at most 30 s, then kills the pod
    const stopMs = await until('the gateway pod stopped', () => gatewayPods().length === 0, 40_000);
    const t = await turncat(['datagram-after-stop']);
    expect(t.code).toBe(1);
    expect(t.stdout).toBe('');
    expect(t.stderr).toMatch(/^turncat: .*(unreachable|no answer|timed out)/i);
    const i = await icetest();
    expect(i.code).toBe(1);
    const report = JSON.parse(i.stdout) as {
      ok: boolean;
      results: { ok: boolean; step: string; message: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.results).toEqual([expect.objectContaining({ ok: false, step: 'unreachable' })]);
    console.log(
      `gateway pod stopped in ${stopMs} ms; then: ${t.stderr.trim()} | icetest: ${report.results[0]!.message}`,
    );
  });
});

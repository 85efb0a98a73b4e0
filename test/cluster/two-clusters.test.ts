/**
 * Both clusters (issue 23): dist/eu-west and dist/us-east each on a control plane of its own, the
 * two network namespaces joined by a direct link (./netns.ts linkClusterNets), and CloudRetro's
 * two committed cross-cluster paths exercised between them:
 *
 * - us-east's workers reach the primary's coordinator at its public name (the worker's
 *   CLOUD_GAME_WORKER_NETWORK_COORDINATORADDRESS, cloudretro.eu-west.example.com:8000), which
 *   resolves to the address a cloud stand-in sets on eu-west's LoadBalancer Service
 *   coordinator-lb-svc (port 8000, the coordinator's `http` port);
 * - eu-west's coordinator, through its cloudretro-ice sidecar (the committed container, run),
 *   asks us-east's ICE auth service (the committed pod, run with its bound token against
 *   us-east's apiserver) at stunner-auth.cloudretro.us-east.internal.example.com:8088 with the
 *   shared API key, and writes us-east's gateway address beside its own.
 *
 * CloudRetro's own image cannot run here: the coordinator's process is a stand-in listening on the
 * coordinator pod's address and port, and the worker's a stand-in that connects, as the worker
 * does, to the address in its committed env. There is no CNI: which committed NetworkPolicy admits
 * each flow is checked against the addresses the flows really use.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { installCrds, syncChart } from './apply.js';
import { type ControlPlane, startControlPlane, stopChild } from './control-plane.js';
import { type DistObject, loadCluster, type Obj } from './dist.js';
import { type Kubelet, startKubelet } from './kubelet.js';
import { type ClusterLink, linkClusterNets } from './netns.js';
import { setLoadBalancer } from './stand-ins.js';

const NS = 'cloudretro';
const API_KEY = 'cloudretro-cross-cluster-key-0123456789';
const TURN_SECRET = 'cloudretro-turn-secret-1';
// documentation addresses (RFC 5737): the gateways' public addresses, reported, never sent to
const GATEWAY_LB = { eu: '198.51.100.10', us: '198.51.100.20' };

const find = (objs: DistObject[], kind: string, name: string): Obj => {
  const o = objs.find(
    (x) => x.obj.kind === kind && x.obj.metadata.name === name && x.file === 'cloudretro.k8s.yaml',
  );
  if (!o) throw new Error(`no ${kind}/${name} in cloudretro.k8s.yaml`);
  return o.obj;
};
const allContainers = (d: Obj) => [
  ...(d.spec.template.spec.initContainers ?? []),
  ...d.spec.template.spec.containers,
];
const envValue = (d: Obj, container: string, name: string): string =>
  allContainers(d)
    .find((c: { name: string }) => c.name === container)
    .env.find((e: { name: string }) => e.name === name).value;

// --- NetworkPolicy, as a CNI reads it (what these flows need: ports, ipBlocks, podSelectors) ---
const ipNum = (ip: string) => ip.split('.').reduce((n, x) => n * 256 + Number(x), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const mask = Number(bits) === 0 ? 0 : 2 ** 32 - 2 ** (32 - Number(bits));
  return (ipNum(ip) & mask) >>> 0 === (ipNum(base!) & mask) >>> 0;
}
const selects = (sel: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) =>
  Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
/**
 * The committed policies that admit a flow at one end: `pod` (its labels) sends to or receives
 * from `peer`, an address outside its cluster, on TCP `port`. [] when the pod is isolated in that
 * direction and nothing admits it; undefined when no policy isolates it.
 */
function admittedBy(
  objs: DistObject[],
  dir: 'ingress' | 'egress',
  pod: Record<string, string>,
  peer: string,
  port: number,
): string[] | undefined {
  const policies = objs
    .map((o) => o.obj)
    .filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === NS)
    .filter((p) => selects(p.spec.podSelector, pod))
    .filter((p) => (p.spec.policyTypes ?? ['Ingress']).includes(dir === 'ingress' ? 'Ingress' : 'Egress'));
  if (policies.length === 0) return undefined;
  return policies
    .filter((p) =>
      (p.spec[dir] ?? []).some((rule: Obj) => {
        const ports = rule.ports ?? [];
        const portOk =
          ports.length === 0 ||
          ports.some(
            (x: Obj) => (x.protocol ?? 'TCP') === 'TCP' && (x.port === undefined || x.port === port),
          );
        const peers = rule[dir === 'ingress' ? 'from' : 'to'] ?? [];
        // a pod or namespace selector names this cluster's pods: never a peer in the other cluster
        const peerOk =
          peers.length === 0 || peers.some((x: Obj) => x.ipBlock && inCidr(peer, x.ipBlock.cidr));
        return portOk && peerOk;
      }),
    )
    .map((p) => p.metadata.name);
}

// The worker's stand-in: CloudRetro's worker dials its coordinator at the address in its env.
const WORKER_STAND_IN = `
const dns = require('node:dns');
const http = require('node:http');
const addr = process.env.CLOUD_GAME_WORKER_NETWORK_COORDINATORADDRESS;
const [host, port] = addr.split(':');
let last = '';
const say = (s) => { if (s !== last) console.log(s); last = s; };
setInterval(() => dns.lookup(host, { family: 4 }, (err, ip) => {
  if (err) return say('resolve ' + host + ': ' + err.code);
  const req = http.get({ host: ip, port: Number(port), path: '/wso', timeout: 1000 }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => say('coordinator ' + addr + ' (' + ip + '): ' + res.statusCode + ' ' + body));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
  req.on('error', (e) => say('coordinator ' + addr + ' (' + ip + '): ' + e.code));
}), 300);
`;
// The coordinator's stand-in: answers on the coordinator pod's address and its `http` port.
const COORDINATOR_STAND_IN = `
const [ip, port, name] = process.argv.slice(1);
require('node:http').createServer((req, res) => res.end('coordinator ' + name + ' ' + req.url))
  .listen(Number(port), ip, () => console.log('listening'));
`;

describe('CloudRetro across two real clusters', () => {
  let eu: ControlPlane;
  let us: ControlPlane;
  let euKubelet: Kubelet;
  let usKubelet: Kubelet;
  let link: ClusterLink;
  let euObjs: DistObject[];
  let usObjs: DistObject[];
  let coordinator: ChildProcess | undefined;
  /** Set as the test learns them; pods that need them wait (the kubelet's 'pending'). */
  const known: { usAuthIP?: string; euAuthReady?: boolean; coordinatorLB?: string } = {};

  // what the committed YAML says about the two paths
  let coordinatorAddress: string; // host:port, us-east worker's env
  let usAuthUrl: URL; // eu-west's ICE step's second source
  let usAuthClients: string; // the ipBlock us-east's auth service admits

  const pod = (k: Kubelet, prefix: string) => [...k.running.values()].find((p) => p.name.startsWith(prefix));
  const live = (ip: string, port: number, path: string) =>
    fetch(`http://${ip}:${port}${path}`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
  const stepStatus = async (): Promise<{ urls: string[]; lastError: string | null }> => {
    const p = pod(euKubelet, 'coordinator-deployment-')!;
    const r = await fetch(`http://${p.ip}:8090/status`, { signal: AbortSignal.timeout(2000) });
    return (await r.json()) as { urls: string[]; lastError: string | null };
  };
  /** The first ready endpoint the real endpointslice controller lists for a Service of NS. */
  const readyEndpoint = async (cp: ControlPlane, svc: string): Promise<{ ip: string; port: number }> => {
    const discovery = cp.adminConfig().makeApiClient(DiscoveryV1Api);
    let found: { ip: string; port: number } | undefined;
    await until(
      `${cp.name} ${svc}'s ready endpoint`,
      async () => {
        const slices = await discovery.listNamespacedEndpointSlice({
          namespace: NS,
          labelSelector: `kubernetes.io/service-name=${svc}`,
        });
        for (const sl of slices.items) {
          const ep = sl.endpoints?.find((e) => e.conditions?.ready);
          if (ep) found = { ip: ep.addresses[0]!, port: sl.ports?.[0]?.port ?? 0 };
        }
        return found !== undefined;
      },
      60_000,
    ).catch((e) => {
      throw explain(e);
    });
    return found!;
  };
  const workerSays = () => pod(usKubelet, 'worker-deployment-')?.output().trim().split('\n').at(-1) ?? '';
  const explain = (e: unknown) => {
    const pods = [
      ...[...euKubelet.running.values()].map((p) => ['eu-west', p] as const),
      ...[...usKubelet.running.values()].map((p) => ['us-east', p] as const),
    ].map(([c, p]) => `--- ${c} ${p.name} (${p.ip})\n${p.output().slice(-1500)}`);
    return new Error(
      `${(e as Error).message}\n${pods.join('\n')}\nkubelets: ${[...euKubelet.errors, ...usKubelet.errors].join('\n')}`,
    );
  };

  const sync = (cp: ControlPlane, objs: DistObject[]) => {
    // the media servers' namespace belongs to the user's media app, which the gateway's route names
    cp.kubectlOk(['create', 'namespace', 'media']);
    // created out of band, the same values in both clusters (examples/cloudretro/README.md)
    syncChart(cp, objs, NS, {
      'stunner-auth-secret': { secret: TURN_SECRET },
      'cloudretro-ice-api-key': { key: API_KEY },
    });
  };

  beforeAll(async () => {
    euObjs = loadCluster('eu-west');
    usObjs = loadCluster('us-east');
    coordinatorAddress = envValue(
      find(usObjs, 'Deployment', 'worker-deployment'),
      'worker',
      'CLOUD_GAME_WORKER_NETWORK_COORDINATORADDRESS',
    );
    const sources = JSON.parse(
      envValue(
        find(euObjs, 'Deployment', 'coordinator-deployment'),
        'cloudretro-ice',
        'CLOUDRETRO_ICE_SOURCES',
      ),
    ) as { url: string; keyFile?: string }[];
    usAuthUrl = new URL(sources.find((s) => s.keyFile !== undefined)!.url);
    usAuthClients = find(usObjs, 'NetworkPolicy', 'stunner-auth').spec.ingress[0].from[0].ipBlock.cidr;

    // one after the other: each start polls with blocking kubectl calls
    const t0 = Date.now();
    eu = await startControlPlane('eu-west', 208);
    us = await startControlPlane('us-east', 209);
    // eu-west's end of the link stands for its egress address, in the range us-east's auth service admits
    const [a, b] = usAuthClients.split('.');
    link = linkClusterNets(eu.net, us.net, { aIP: `${a}.${b}.255.1`, bIP: `${a}.${b}.255.2` });
    installCrds(eu);
    installCrds(us);
    // CloudRetro's pods on the two paths run; every other pod of dist/ only gets an address
    const isPod = (prefix: string) => (p: { metadata?: { name?: string; namespace?: string } }) =>
      p.metadata?.namespace === NS && p.metadata?.name?.startsWith(prefix) === true;
    const euCore = eu.adminConfig().makeApiClient(CoreV1Api);
    euKubelet = await startKubelet(eu, {
      policy: (p) =>
        isPod('stunner-auth-')(p)
          ? 'run'
          : isPod('coordinator-deployment-')(p)
            ? known.usAuthIP && known.euAuthReady
              ? 'run'
              : 'pending'
            : 'ready',
      // the coordinator's image cannot run here; its ICE sidecar can
      container: (p) => (isPod('coordinator-deployment-')(p) ? 'cloudretro-ice' : undefined),
      // the committed step asks every 30 s: here every second, so that a change shows at once
      env: (p): Record<string, string> =>
        isPod('coordinator-deployment-')(p) ? { CLOUDRETRO_ICE_POLL_SECONDS: '1' } : {},
      // us-east's internal load balancer in front of its auth pods: the pod's address
      extraHosts: () => (known.usAuthIP ? { [usAuthUrl.hostname]: known.usAuthIP } : {}),
    });
    usKubelet = await startKubelet(us, {
      policy: (p) =>
        isPod('stunner-auth-')(p)
          ? 'run'
          : isPod('worker-deployment-')(p)
            ? known.coordinatorLB
              ? 'run'
              : 'pending'
            : 'ready',
      standIn: (p) =>
        isPod('worker-deployment-')(p) ? [process.execPath, '-e', WORKER_STAND_IN] : undefined,
      // the coordinator's public name (a DNS record for its load balancer's address)
      extraHosts: async () => {
        const svc = await euCore.readNamespacedService({ name: 'coordinator-lb-svc', namespace: NS });
        const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
        return ip ? { [coordinatorAddress.split(':')[0]!]: ip } : {};
      },
    });
    const t1 = Date.now();
    sync(us, usObjs);
    sync(eu, euObjs);
    const t2 = Date.now();
    setLoadBalancer(us, NS, 'udp-gateway', GATEWAY_LB.us);
    setLoadBalancer(eu, NS, 'udp-gateway', GATEWAY_LB.eu);
    // a pod's /etc/hosts is written when it starts: each waits for the names it needs
    const usAuth = await readyEndpoint(us, 'stunner-auth');
    expect(await live(usAuth.ip, Number(usAuthUrl.port), '/live')).toBe(true);
    known.usAuthIP = usAuth.ip;
    await readyEndpoint(eu, 'stunner-auth');
    known.euAuthReady = true;
    await until(
      "eu-west's coordinator's ICE step live",
      async () => {
        const step = pod(euKubelet, 'coordinator-deployment-');
        return step !== undefined && (await live(step.ip, 8090, '/live'));
      },
      60_000,
    ).catch((e) => {
      throw explain(e);
    });
    // the cloud stand-in: coordinator-lb-svc's address delivers to the endpoint the real
    // endpointslice controller lists for it (no kube-proxy here)
    const endpoint = await readyEndpoint(eu, 'coordinator-lb-svc');
    setLoadBalancer(eu, NS, 'coordinator-lb-svc', endpoint.ip);
    const step = pod(euKubelet, 'coordinator-deployment-')!;
    expect(endpoint.ip).toBe(step.ip);
    coordinator = spawn(
      'ip',
      [
        'netns',
        'exec',
        eu.net.ns,
        process.execPath,
        '-e',
        COORDINATOR_STAND_IN,
        step.ip,
        String(endpoint.port),
        step.name,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    known.coordinatorLB = endpoint.ip;
    console.log(
      `control planes and CRDs ${t1 - t0} ms; ${[...usObjs, ...euObjs].filter((o) => o.phase === 'Sync').length} objects applied (hooks are not) in ${t2 - t1} ms; pods on the paths ready ${Date.now() - t2} ms later`,
    );
    await until('the worker running', () => pod(usKubelet, 'worker-deployment-') !== undefined, 30_000).catch(
      (e) => {
        throw explain(e);
      },
    );
  });

  afterAll(async () => {
    if (coordinator) await stopChild(coordinator, 'SIGKILL', 0);
    await euKubelet?.stop();
    await usKubelet?.stop();
    link?.destroy();
    await eu?.stop();
    await us?.stop();
  });

  it("us-east's worker reaches the primary's coordinator at its public name, the load balancer's address", async () => {
    expect(coordinatorAddress).toBe('cloudretro.eu-west.example.com:8000');
    const lb = known.coordinatorLB!;
    await until(
      'the worker answered by the coordinator',
      () =>
        workerSays().startsWith(
          `coordinator ${coordinatorAddress} (${lb}): 200 coordinator coordinator-deployment-`,
        ),
      20_000,
    ).catch((e) => {
      throw explain(e);
    });
    // the Service behind the name is the committed one: LoadBalancer, port 8000 to the coordinator's `http`
    const svc = find(euObjs, 'Service', 'coordinator-lb-svc');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 8000, protocol: 'TCP', targetPort: 'http' }]);
  });

  it("eu-west's coordinator gets us-east's gateway from us-east's ICE auth service, with the API key", async () => {
    expect(usAuthUrl.host).toBe('stunner-auth.cloudretro.us-east.internal.example.com:8088');
    await until(
      "the ICE step's config names both clusters' gateways",
      async () => {
        const s = await stepStatus();
        return (
          s.lastError === null &&
          s.urls.some((u) => u.includes(GATEWAY_LB.eu)) &&
          s.urls.some((u) => u.includes(GATEWAY_LB.us))
        );
      },
      30_000,
    ).catch((e) => {
      throw explain(e);
    });
    // us-east's auth service followed its own apiserver, with its rendered Role: refused nothing
    expect(pod(usKubelet, 'stunner-auth-')!.output()).not.toMatch(/not allowed|HTTP 40[13]/);
  });

  it('the committed NetworkPolicies admit both flows at both ends, from the addresses they really use', () => {
    const labels = (objs: DistObject[], d: string) =>
      find(objs, 'Deployment', d).spec.template.metadata.labels;
    const worker = labels(usObjs, 'worker-deployment');
    const coord = labels(euObjs, 'coordinator-deployment');
    const usAuth = labels(usObjs, 'stunner-auth');
    // worker -> coordinator: us-east's traffic leaves from its end of the link
    expect(admittedBy(usObjs, 'egress', worker, known.coordinatorLB!, 8000)).toEqual(['worker-deployment']);
    expect(admittedBy(euObjs, 'ingress', coord, link.bIP, 8000)).toEqual(['coordinator-deployment']);
    // coordinator's ICE step -> us-east's auth service: from eu-west's egress address only
    expect(admittedBy(euObjs, 'egress', coord, known.usAuthIP!, 8088)).toEqual(['coordinator-deployment']);
    expect(inCidr(link.aIP, usAuthClients)).toBe(true);
    expect(admittedBy(usObjs, 'ingress', usAuth, link.aIP, 8088)).toEqual(['stunner-auth']);
    expect(admittedBy(usObjs, 'ingress', usAuth, '192.0.2.1', 8088)).toEqual([]);
    // neither cluster's default-deny admits these flows by itself
    expect(admittedBy(usObjs, 'egress', worker, known.coordinatorLB!, 8000)).not.toContain('default-deny');
  });

  it('fails with the route between the clusters removed, and recovers with it', async () => {
    link.removeRoutes();
    try {
      await until(
        'the worker cut off',
        () => /: (ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(workerSays()),
        15_000,
      );
      await until(
        "the ICE step's error names us-east's auth service",
        async () => (await stepStatus()).lastError?.includes(usAuthUrl.hostname) === true,
        30_000,
      );
      // the last good config stays
      expect((await stepStatus()).urls.some((u) => u.includes(GATEWAY_LB.us))).toBe(true);
    } finally {
      link.addRoutes();
    }
    await until('the worker answered again', () => /: 200 coordinator /.test(workerSays()), 15_000);
    await until('the ICE step asks again', async () => (await stepStatus()).lastError === null, 30_000);
  });

  it("fails when the other cluster's side is stopped", async () => {
    await stopChild(coordinator!, 'SIGKILL', 0);
    await until('the worker refused', () => workerSays().endsWith(': ECONNREFUSED'), 15_000);
    us.kubectlOk(['-n', NS, 'scale', 'deployment/stunner-auth', '--replicas=0']);
    await until(
      "the ICE step's error names us-east's auth service",
      async () => (await stepStatus()).lastError?.includes(usAuthUrl.hostname) === true,
      40_000,
    );
  });
});

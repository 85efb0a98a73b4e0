/**
 * The ICE auth service's API access on a real apiserver (issue 23), for two charts in one cluster:
 * - a chart synthesized here as a user would write it: a NodePort gateway and an IceAuthService
 *   with nodeAddressDiscovery. Its auth pod, run with its bound token, must answer /ice with the
 *   Node's ExternalIP and the nodePort the apiserver allocated; without the rendered Node-reader
 *   ClusterRole rule it is refused with a 403 and answers no node address.
 * - the committed direct-call chart: its auth service's rendered Role is sufficient (nothing is
 *   refused, /ice names both gateways' load-balancer addresses) and minimal: each rule, each verb
 *   and each resource name removed in turn gets the new auth pod the apiserver's 403.
 */
import { Chart, Testing } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IceAuthService, StunnerGateway, TurnAuth } from '../../constructs/index.js';
import { synthWithRuntime } from '../constructs/helpers.js';
import { until } from '../helpers/wait.js';
import { syncChart } from './apply.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';
import { type DistObject, distObjects, loadCluster, type Obj } from './dist.js';
import { type Kubelet, type RunningPodProc, startKubelet } from './kubelet.js';
import { setLoadBalancer } from './stand-ins.js';

const FALLBACK_NS = 'node-fallback';
const CALL_NS = 'direct-call';
/** The Node's ExternalIP (RFC 5737): reported, never sent to. */
const NODE_EXTERNAL_IP = '203.0.113.10';
const NODE_READER = `stunner:${FALLBACK_NS}:stunner-auth:node-reader`;
// the cloud stand-in's load-balancer addresses for direct-call's gateways (RFC 5737)
const CALL_LB: Readonly<Record<string, string>> = {
  'udp-gateway': '198.51.100.21',
  'tcp-gateway': '198.51.100.22',
};
const REFUSED = /not allowed \(HTTP 403\)/;

/** A NodePort gateway and its ICE auth service with the NodePort fallback, as a user writes them. */
function nodeFallbackChart(): DistObject[] {
  const chart = new Chart(Testing.app(), 'node-fallback', { namespace: FALLBACK_NS });
  const gateway = new StunnerGateway(chart, 'udp-gateway', {
    createNamespace: true,
    auth: TurnAuth.ephemeral('stunner-auth-secret'),
    serviceType: 'NodePort',
    listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
  });
  new IceAuthService(chart, 'ice-auth', { gateways: [gateway], nodeAddressDiscovery: true });
  // with the runtime chart of its namespace, which its pods mount
  return distObjects('node-fallback (synthesized in the test)', synthWithRuntime(chart));
}

const CALL_OBJS = loadCluster('eu-west', ['direct-call.k8s.yaml', 'stunnerd-runtime-direct-call.k8s.yaml']);
const AUTH_ROLE: Obj = CALL_OBJS.find(
  (o) => o.obj.kind === 'Role' && o.obj.metadata.name === 'stunner-auth',
)!.obj;
type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] };

interface Plant {
  readonly name: string;
  readonly rules: Rule[];
  /** Gateways whose Service the auth service may no longer read. */
  readonly refused: string[];
}

/**
 * Every way to take one grant away from the rendered Role: a whole rule, one verb of a rule, one
 * resource name of a rule (never the last: no names would grant every Service).
 */
function plants(): Plant[] {
  const rules = AUTH_ROLE.rules as Rule[];
  const out: Plant[] = [];
  const all = (r: Rule) => r.resourceNames ?? Object.keys(CALL_LB);
  rules.forEach((r, i) => {
    const what = `rule ${i + 1} (${r.resources.join(',')})`;
    const others = rules.filter((_, j) => j !== i);
    out.push({ name: `${what} removed`, rules: others, refused: all(r) });
    for (const v of r.verbs)
      if (r.verbs.length > 1)
        out.push({
          name: `verb ${v} of ${what} removed`,
          rules: [...others, { ...r, verbs: r.verbs.filter((x) => x !== v) }],
          refused: all(r),
        });
    for (const n of r.resourceNames ?? [])
      if (r.resourceNames!.length > 1)
        out.push({
          name: `resource name ${n} of ${what} removed`,
          rules: [...others, { ...r, resourceNames: r.resourceNames!.filter((x) => x !== n) }],
          refused: [n],
        });
  });
  return out;
}

describe("the ICE auth service's API access on a real apiserver", () => {
  let cp: ControlPlane;
  let kubelet: Kubelet;

  const authPods = (ns: string): RunningPodProc[] =>
    [...kubelet.running.values()].filter((p) => p.namespace === ns && p.name.startsWith('stunner-auth-'));

  const ice = async (ip: string): Promise<{ status: number; urls: string[]; text: string }> => {
    const r = await fetch(`http://${ip}:8088/ice?service=turn&username=cluster-test`, {
      signal: AbortSignal.timeout(2000),
    });
    const text = await r.text();
    if (r.status !== 200) return { status: r.status, urls: [], text };
    const body = JSON.parse(text) as { iceServers: { urls: string[] }[] };
    return { status: r.status, urls: body.iceServers.flatMap((s) => s.urls), text };
  };

  const live = (p: RunningPodProc) =>
    fetch(`http://${p.ip}:8088/live`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );

  const dump = (e: unknown, p?: RunningPodProc) =>
    new Error(
      `${(e as Error).message}\n--- ${p?.namespace}/${p?.name}:\n${p?.output().slice(-3000)}\nkubelet: ${kubelet.errors.join('\n')}`,
    );

  /** The serving auth pod of `ns` (the one no delete has touched), per namespace. */
  const serving = new Map<string, string>();

  /** Deletes the serving auth pod of `ns` and returns its successor once that one is live. */
  const restartAuth = async (ns: string): Promise<RunningPodProc> => {
    const before = new Set(authPods(ns).map((p) => p.name));
    cp.kubectlOk(['-n', ns, 'delete', 'pod', serving.get(ns)!, '--wait=false']);
    let fresh: RunningPodProc | undefined;
    await until(
      `a new auth pod in ${ns}, live`,
      async () => {
        fresh = authPods(ns).find((p) => !before.has(p.name));
        return fresh !== undefined && (await live(fresh));
      },
      30_000,
    ).catch((e) => {
      throw dump(e, fresh);
    });
    serving.set(ns, fresh!.name);
    return fresh!;
  };

  beforeAll(async () => {
    cp = await startControlPlane('ice-auth-rbac', 207);
    kubelet = await startKubelet(cp, {
      externalIP: NODE_EXTERNAL_IP,
      // only the auth pods run; the gateways need an address and nothing more here
      policy: (p) => (p.metadata?.labels?.['app.kubernetes.io/name'] === 'stunner-auth' ? 'run' : 'ready'),
      // a real pod has a network of its own; here pods share one, so the service binds its pod IP
      // (else a second auth pod, or a successor beside a draining one, finds port 8088 taken)
      extraArgs: (p) => ['--address', kubelet.ips.get(`${p.metadata!.namespace}/${p.metadata!.name}`)!],
    });
    syncChart(cp, nodeFallbackChart(), FALLBACK_NS, { 'stunner-auth-secret': { secret: 'fallback-secret' } });
    syncChart(cp, CALL_OBJS, CALL_NS, { 'stunner-auth-secret': { secret: 'call-secret' } });
    for (const ns of [FALLBACK_NS, CALL_NS]) {
      await until(
        `the auth pod of ${ns} live`,
        async () => authPods(ns).length === 1 && (await live(authPods(ns)[0]!)),
        60_000,
      ).catch((e) => {
        throw dump(e, authPods(ns)[0]);
      });
      serving.set(ns, authPods(ns)[0]!.name);
    }
  });

  afterAll(async () => {
    await kubelet?.stop();
    await cp?.stop();
  });

  describe('NodePort fallback (nodeAddressDiscovery)', () => {
    it("answers /ice with the Node's ExternalIP and the nodePort the apiserver allocated", async () => {
      const nodePort = Number(
        cp.kubectlOk([
          '-n',
          FALLBACK_NS,
          'get',
          'service',
          'udp-gateway',
          '-o',
          'jsonpath={.spec.ports[0].nodePort}',
        ]),
      );
      expect(nodePort).toBeGreaterThanOrEqual(30000);
      const want = `turn:${NODE_EXTERNAL_IP}:${nodePort}?transport=udp`;
      const p = authPods(FALLBACK_NS)[0]!;
      let last: Awaited<ReturnType<typeof ice>> | undefined;
      await until(
        `/ice names ${want}`,
        async () => {
          last = await ice(p.ip);
          return last.urls.includes(want);
        },
        15_000,
      ).catch((e) => {
        throw dump(new Error(`${(e as Error).message}; last answer ${last?.status} ${last?.text}`), p);
      });
      expect(last!.urls).toEqual([want]);
      expect(p.output()).not.toMatch(REFUSED);
    });

    it('without the Node-reader rule the apiserver refuses the Node read (403) and /ice names no node', async () => {
      const role = JSON.parse(cp.kubectlOk(['get', 'clusterrole', NODE_READER, '-o', 'json']));
      expect(role.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] }]);
      const replace = (rules: Rule[]) =>
        cp.kubectlOk(['replace', '-f', '-'], {
          input: JSON.stringify({ ...role, metadata: { name: NODE_READER }, rules }),
        });
      replace([]);
      try {
        const p = await restartAuth(FALLBACK_NS);
        await until(
          'the Nodes watch refused',
          () => /Nodes: not allowed \(HTTP 403\)/.test(p.output()),
          15_000,
        ).catch((e) => {
          throw dump(e, p);
        });
        const a = await ice(p.ip);
        expect(a.text).not.toContain(NODE_EXTERNAL_IP);
      } finally {
        replace(role.rules);
      }
      // restored, a new pod reads the Node again
      const p = await restartAuth(FALLBACK_NS);
      await until(
        '/ice names the node again',
        async () => (await ice(p.ip)).text.includes(NODE_EXTERNAL_IP),
        15_000,
      );
    });
  });

  describe("direct-call's rendered auth Role", () => {
    const setLoadBalancers = () => {
      for (const [svc, ip] of Object.entries(CALL_LB)) setLoadBalancer(cp, CALL_NS, svc, ip);
    };
    const replaceRole = (rules: Rule[]) =>
      cp.kubectlOk(['replace', '-f', '-'], {
        input: JSON.stringify({
          ...AUTH_ROLE,
          metadata: { name: AUTH_ROLE.metadata.name, namespace: CALL_NS },
          rules,
        }),
      });

    const untilBothNamed = (ip: string) =>
      until(
        '/ice names both load-balancer addresses',
        async () => {
          const a = await ice(ip);
          return Object.values(CALL_LB).every((lb) => a.text.includes(lb));
        },
        15_000,
      );

    it('is sufficient: nothing is refused and /ice names both gateways', async () => {
      setLoadBalancers();
      const p = authPods(CALL_NS).find((x) => x.name === serving.get(CALL_NS))!;
      await untilBothNamed(p.ip).catch((e) => {
        throw dump(e, p);
      });
      expect(p.output()).not.toMatch(REFUSED);
    });

    it.each(plants())('is minimal: $name gets the auth pod a 403', async ({ rules, refused }) => {
      replaceRole(rules);
      try {
        const p = await restartAuth(CALL_NS);
        const said = (gw: string) =>
          new RegExp(`gateway Service ${CALL_NS}/${gw}: not allowed \\(HTTP 403\\)`);
        await until(
          `the apiserver's 403 for ${refused.join(', ')}`,
          () => refused.every((gw) => said(gw).test(p.output())),
          15_000,
        ).catch((e) => {
          throw dump(e, p);
        });
        // only what the plant took away is refused
        for (const gw of Object.keys(CALL_LB).filter((g) => !refused.includes(g)))
          expect(p.output()).not.toMatch(said(gw));
      } finally {
        replaceRole(AUTH_ROLE.rules);
      }
    });

    it('restored, a new auth pod is refused nothing', async () => {
      const p = await restartAuth(CALL_NS);
      await untilBothNamed(p.ip);
      expect(p.output()).not.toMatch(REFUSED);
    });
  });
});

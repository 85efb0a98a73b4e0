/**
 * What the Kubernetes API test double (test/helpers/k8s-api-double.ts) claims, checked on the real
 * apiserver (issue 23 item 4; the table is in docs/testing-kubernetes.md). The runtime's own
 * ListWatch (runtime/cluster-watch/list-watch.ts), which every in-pod watcher and the CLI use, and
 * the runtime's API client under it (kube-api.ts; the CLI's kubeconfig adapter, kubeApiOf), run in
 * this process against a real control plane: lists
 * carry a resourceVersion; a watch from it streams ADDED/MODIFIED/DELETED through label and field
 * selectors; a watch from an older version replays what followed it; a compacted version is 410
 * Gone, as an ERROR event in the stream, and ListWatch relists; a watch's timeoutSeconds ends it
 * cleanly and ListWatch resumes without a relist; an unknown token is 401 and an RBAC refusal
 * 403; through an apiserver restart the set is kept and then resynced.
 */
import { CoreV1Api, KubeConfig, type KubernetesObject, type V1Service, Watch } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ListResult, ListWatch } from '../../runtime/cluster-watch/list-watch.js';
import { createLogger } from '../../runtime/log/logger.js';
import { kubeApiOf } from '../../tools/sources/cluster.js';
import { sleep, until } from '../helpers/wait.js';
import { type ControlPlane, startControlPlane } from './control-plane.js';

const NS = 'list-watch';

describe('list/watch on the real apiserver: what the API test double claims', () => {
  let cp: ControlPlane;
  let core: CoreV1Api;
  const watchers: ListWatch<KubernetesObject>[] = [];
  const lines: string[] = [];
  const log = createLogger('all:DEBUG', (l) => lines.push(l)).scope('watch');

  const service = (name: string, labels: Record<string, string> = {}) =>
    cp.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NS, labels },
        spec: { clusterIP: 'None', ports: [{ port: 9000, protocol: 'UDP' }] },
      }),
    });
  const names = (items: readonly KubernetesObject[]) => items.map((o) => o.metadata?.name).sort();

  /** The runtime's ListWatch over this namespace's Services, counting its lists. */
  const watchServices = (
    query: Record<string, string>,
    o: {
      kubeConfig?: KubeConfig;
      watchTimeoutSeconds?: number;
      firstListVersion?: string;
      /** While closed, lists wait (at most 20 s): a watcher slow to come back. */
      gate?: { open: boolean };
    } = {},
  ) => {
    const state = { lists: 0, versions: [] as string[], items: [] as readonly KubernetesObject[] };
    const api = kubeApiOf(o.kubeConfig ?? cp.adminConfig());
    const path = `/api/v1/namespaces/${NS}/services`;
    const lw = new ListWatch<V1Service>({
      what: `Services ${JSON.stringify(query)}`,
      api,
      path,
      query,
      list: async (): Promise<ListResult<V1Service>> => {
        for (const end = Date.now() + 20_000; o.gate?.open === false && Date.now() < end; ) await sleep(50);
        const r = await api.list<V1Service>(path, query);
        state.lists++;
        state.versions.push(r.metadata?.resourceVersion ?? '');
        // a list served by a lagging cache: its version already compacted away
        if (state.lists === 1 && o.firstListVersion !== undefined)
          return { items: r.items, metadata: { resourceVersion: o.firstListVersion } };
        return r;
      },
      onChange: (items) => {
        state.items = items;
      },
      log,
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
      ...(o.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: o.watchTimeoutSeconds } : {}),
    });
    watchers.push(lw as unknown as ListWatch<KubernetesObject>);
    lw.start();
    return state;
  };

  /** One raw watch of this namespace's Services through the client library: its events and end. */
  const rawWatch = async (query: Record<string, string | number | boolean>, ms: number) => {
    const events: {
      type: string;
      obj: { metadata?: { name?: string; resourceVersion?: string } } & Record<string, unknown>;
    }[] = [];
    let ended: { at: number; err: unknown } | undefined;
    const t0 = Date.now();
    const ctl = await new Watch(cp.adminConfig()).watch(
      `/api/v1/namespaces/${NS}/services`,
      query,
      (type, obj) => events.push({ type, obj }),
      (err) => {
        ended ??= { at: Date.now() - t0, err };
      },
    );
    await until(
      'the watch to end or the time to pass',
      () => ended !== undefined || Date.now() - t0 > ms,
      ms + 5000,
    );
    ctl.abort();
    return { events, ended };
  };

  beforeAll(async () => {
    cp = await startControlPlane('list-watch', 208);
    cp.kubectlOk(['create', 'namespace', NS]);
    core = cp.adminConfig().makeApiClient(CoreV1Api);
  });
  afterEach(() => {
    for (const w of watchers.splice(0)) w.stop();
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('a list carries a resourceVersion; the watch from it streams ADDED, MODIFIED and DELETED through a label selector', async () => {
    service('a1', { app: 'a' });
    const s = watchServices({ labelSelector: 'app=a' });
    await until('the first list', () => s.lists === 1 && names(s.items).length === 1, 10_000);
    expect(s.versions[0]).toMatch(/^\d+$/);
    service('a2', { app: 'a' });
    service('b1', { app: 'b' });
    await until('a2 added', () => names(s.items).join() === 'a1,a2', 10_000);
    cp.kubectlOk(['-n', NS, 'label', 'service', 'a1', 'x=1']);
    await until(
      'a1 modified',
      () => s.items.find((o) => o.metadata?.name === 'a1')?.metadata?.labels?.['x'] === '1',
      10_000,
    );
    cp.kubectlOk(['-n', NS, 'delete', 'service', 'a2']);
    await until('a2 deleted', () => names(s.items).join() === 'a1', 10_000);
    // b1 never matched; one list did it all
    expect(names(s.items)).toEqual(['a1']);
    expect(s.lists).toBe(1);
  });

  it('field selector metadata.name, on namespaced Services and on cluster-scoped Nodes; a get by name is 200 or 404', async () => {
    service('f1');
    service('f2');
    const s = watchServices({ fieldSelector: 'metadata.name=f1' });
    await until('f1 listed', () => names(s.items).join() === 'f1', 10_000);
    cp.kubectlOk(['-n', NS, 'label', 'service', 'f2', 'touched=yes']);
    cp.kubectlOk(['-n', NS, 'label', 'service', 'f1', 'touched=yes']);
    await until('f1 modified', () => s.items[0]?.metadata?.labels?.['touched'] === 'yes', 10_000);
    expect(names(s.items)).toEqual(['f1']);

    for (const n of ['node-a', 'node-b'])
      cp.kubectlOk(['apply', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: n } }),
      });
    const nodes = await core.listNode({ fieldSelector: 'metadata.name=node-b' });
    expect(nodes.items.map((n) => n.metadata?.name)).toEqual(['node-b']);
    expect(nodes.metadata?.resourceVersion).toMatch(/^\d+$/);

    expect((await core.readNamespacedService({ namespace: NS, name: 'f1' })).metadata?.name).toBe('f1');
    const missing = await core.readNamespacedService({ namespace: NS, name: 'no-such' }).then(
      () => 0,
      (e: { code?: number }) => e.code,
    );
    expect(missing).toBe(404);
  });

  it('a watch from an older resourceVersion replays what followed it; one without a version starts with ADDED for what exists', async () => {
    const before = (await core.listNamespacedService({ namespace: NS })).metadata!.resourceVersion!;
    service('r1', { app: 'r' });
    const replay = await rawWatch({ resourceVersion: before, labelSelector: 'app=r' }, 1500);
    expect(replay.events.map((e) => `${e.type} ${e.obj.metadata?.name}`)).toEqual(['ADDED r1']);
    // no version: "get state and start at most recent", i.e. the current objects as ADDED
    // (the double streamed only later changes until this test; it now does the same)
    const fresh = await rawWatch({ labelSelector: 'app=r' }, 1500);
    expect(fresh.events.map((e) => `${e.type} ${e.obj.metadata?.name}`)).toEqual(['ADDED r1']);
  });

  it('a version older than the watch cache (a watch resumed across an apiserver restart) is 410 Gone, an ERROR event in the stream; ListWatch relists and follows on', async () => {
    // while the apiserver runs, its watch cache holds every version since it started: a fresh
    // cache (a restart) is what makes an older version too old, compacted in etcd or not
    const old = (await core.listNamespacedService({ namespace: NS })).metadata!.resourceVersion!;
    service('g1', { app: 'g' });
    await cp.stopApiserver();
    await cp.startApiserver();
    const gone = await rawWatch({ resourceVersion: old, labelSelector: 'app=g' }, 3000);
    expect(gone.events.map((e) => e.type)).toEqual(['ERROR']);
    expect(gone.events[0]!.obj).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Expired',
      code: 410,
      message: expect.stringMatching(new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`)),
    });

    // a ListWatch whose list reports that version: the watch gets the 410, and a relist follows
    lines.length = 0;
    const s = watchServices({ labelSelector: 'app=g' }, { firstListVersion: old });
    await until('a second list after the 410', () => s.lists === 2, 10_000);
    service('g2', { app: 'g' });
    await until('g2 seen after the relist', () => names(s.items).join() === 'g1,g2', 10_000);
    expect(s.lists).toBe(2);
    // a relist at once, not a failure met with backoff
    expect(lines.filter((l) => l.includes('app=g'))).toEqual([]);
  });

  it("a watch's timeoutSeconds: the apiserver ends it cleanly and ListWatch resumes from its resourceVersion, without a relist", async () => {
    const raw = await rawWatch({ timeoutSeconds: 2, allowWatchBookmarks: true }, 10_000);
    expect(raw.ended, 'ended by the server').toBeDefined();
    expect(raw.ended!.err ?? null).toBeNull();
    expect(raw.ended!.at).toBeGreaterThanOrEqual(1500);
    expect(raw.ended!.at).toBeLessThan(6000);

    service('t1', { app: 't' });
    const s = watchServices({ labelSelector: 'app=t' }, { watchTimeoutSeconds: 2 });
    await until('t1 listed', () => names(s.items).join() === 't1', 10_000);
    await sleep(5000); // two or three watches ended by the server
    service('t2', { app: 't' });
    await until('t2 seen on a resumed watch', () => names(s.items).join() === 't1,t2', 10_000);
    expect(s.lists).toBe(1);
  });

  it('an unknown token gets 401 and an RBAC refusal 403; nothing is reported as synced', async () => {
    const bogus = new KubeConfig();
    bogus.loadFromOptions({
      clusters: [{ name: 'c', server: cp.server, caFile: cp.pki.caCert }],
      users: [{ name: 'u', token: 'not-a-token-this-apiserver-issued' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    cp.kubectlOk(['-n', NS, 'create', 'serviceaccount', 'nobody']);
    const nobody = new KubeConfig();
    nobody.loadFromFile(cp.serviceAccountKubeconfig(NS, 'nobody'));
    lines.length = 0;
    const a = watchServices({ labelSelector: 'app=a' }, { kubeConfig: bogus });
    const b = watchServices({ labelSelector: 'app=b' }, { kubeConfig: nobody });
    await until(
      'both refused',
      () =>
        lines.some((l) => l.includes('{"labelSelector":"app=a"}: not allowed (HTTP 401)')) &&
        lines.some((l) => l.includes('{"labelSelector":"app=b"}: not allowed (HTTP 403)')),
      10_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${lines.join('\n')}`);
    });
    expect(a.lists + b.lists).toBe(0);
  });

  it('an apiserver outage: the last set is kept while it is down, then a relist replaces it', async () => {
    service('o1', { app: 'o' });
    service('o2', { app: 'o' });
    const gate = { open: true };
    const s = watchServices({ labelSelector: 'app=o' }, { gate });
    await until('o1 and o2 listed', () => names(s.items).join() === 'o1,o2', 10_000);
    lines.length = 0;
    gate.open = false;
    await cp.stopApiserver();
    await until(
      'the watcher sees the outage',
      () => lines.some((l) => /app=o.*API unreachable/.test(l)),
      15_000,
    );
    expect(names(s.items)).toEqual(['o1', 'o2']);
    await cp.startApiserver();
    // deleted before the watcher is back: no watch event can tell it, only the relist
    cp.kubectlOk(['-n', NS, 'delete', 'service', 'o2']);
    gate.open = true;
    await until('the relist replaces the set', () => names(s.items).join() === 'o1', 30_000);
    await until('resynced', () => lines.some((l) => /app=o.*API reachable again, resynced/.test(l)), 30_000);
  });
});

/**
 * ListWatch over the runtime's own client, against a scripted node:http server on loopback: a
 * bookmark only moves the resourceVersion, 410 Gone relists and REPLACES the cache, a refusal is
 * logged as such, stop() ends the watch.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi } from '../../../runtime/cluster-watch/kube-api.js';
import type { KubeObject } from '../../../runtime/cluster-watch/kube-types.js';
import { ListWatch } from '../../../runtime/cluster-watch/list-watch.js';
import { createLogger } from '../../../runtime/log/logger.js';
import { event, type ScriptedApi, scriptedApi, statusAnswer } from '../../helpers/scripted-api.js';
import { until } from '../../helpers/wait.js';

const PATH = '/api/v1/namespaces/media/services';
const svc = (name: string, rv: string) => ({
  kind: 'Service',
  metadata: { name, namespace: 'media', resourceVersion: rv },
});
const list = (res: ServerResponse, rv: string, items: unknown[]) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion: rv }, items }));
};
const isWatch = (req: IncomingMessage) => req.url?.includes('watch=1') ?? false;

describe('ListWatch', () => {
  let server: ScriptedApi | undefined;
  let lw: ListWatch<KubeObject> | undefined;
  const lines: string[] = [];
  afterEach(async () => {
    lw?.stop();
    lw = undefined;
    await server?.close();
    server = undefined;
    lines.length = 0;
  });

  const start = (s: ScriptedApi) => {
    const changes: string[][] = [];
    lw = new ListWatch<KubeObject>({
      what: 'Services of media',
      api: new KubeApi({ server: s.url, requestOptions: () => ({}) }),
      path: PATH,
      query: { labelSelector: 'app=x' },
      onChange: (items) => changes.push(items.map((o) => o.metadata?.name ?? '').sort()),
      log: createLogger('all:DEBUG', (l) => lines.push(l)).scope('watch'),
      initialBackoffMs: 50,
      maxBackoffMs: 200,
    });
    lw.start();
    return changes;
  };
  const lists = () => server!.requests.filter((r) => r.query.get('watch') === null);
  const watches = () => server!.requests.filter((r) => r.query.get('watch') === '1');

  it('a BOOKMARK moves the resourceVersion the next watch starts from, and changes nothing', async () => {
    server = await scriptedApi((req, res) => {
      if (!isWatch(req)) return list(res, '10', [svc('a', '9')]);
      res.writeHead(200);
      if (watches().length > 1) return; // the second watch stays open
      res.write(event('BOOKMARK', { kind: 'Service', metadata: { resourceVersion: '15' } }));
      // a watch that held over a second, then the server's timeout
      setTimeout(() => res.end(), 1100);
    });
    const changes = start(server);
    await until('the watch resumed', () => watches().length === 2, 5000);
    expect(watches().map((w) => w.query.get('resourceVersion'))).toEqual(['10', '15']);
    expect(lists()).toHaveLength(1);
    expect(changes).toEqual([['a']]);
    expect(lw!.items().map((o) => o.metadata?.name)).toEqual(['a']);
  });

  it('410 Gone: a relist REPLACES the cache, and the watch follows from the new list', async () => {
    server = await scriptedApi((req, res) => {
      if (!isWatch(req))
        return lists().length === 1
          ? list(res, '10', [svc('a', '8'), svc('b', '9')])
          : list(res, '20', [svc('c', '19')]);
      res.writeHead(200);
      if (watches().length > 1) return;
      res.write(event('ADDED', svc('d', '11')));
      res.write(
        event('ERROR', {
          kind: 'Status',
          status: 'Failure',
          reason: 'Expired',
          code: 410,
          message: 'too old',
        }),
      );
    });
    const changes = start(server);
    await until('the watch after the relist', () => watches().length === 2, 5000);
    expect(changes).toEqual([['a', 'b'], ['a', 'b', 'd'], ['c']]);
    expect(lw!.items().map((o) => o.metadata?.name)).toEqual(['c']);
    expect(watches().map((w) => w.query.get('resourceVersion'))).toEqual(['10', '20']);
    expect(lines.some((l) => /WARN/.test(l))).toBe(false); // a 410 is routine, not an outage
  });

  it('a 403 is logged as a refusal with the API message; the set stays unsynced', async () => {
    server = await scriptedApi((_req, res) =>
      statusAnswer(res, 403, 'Forbidden', 'services is forbidden: cannot list resource "services"'),
    );
    const changes = start(server);
    await until(
      'the refusal logged',
      () => lines.some((l) => l.includes('Services of media: not allowed')),
      5000,
    );
    expect(lines.find((l) => l.includes('not allowed'))).toContain(
      `Services of media: not allowed (HTTP 403); check the watcher's RBAC: services is forbidden: cannot list resource "services"`,
    );
    expect(changes).toEqual([]);
    expect(lw!.synced).toBe(false);
  });

  it('stop() ends the open watch', async () => {
    server = await scriptedApi((req, res) => {
      if (!isWatch(req)) return list(res, '10', [svc('a', '9')]);
      res.writeHead(200);
      res.flushHeaders();
    });
    start(server);
    await until('the watch open', () => watches().length === 1, 5000);
    lw!.stop();
    await until('the watch connection closed', () => watches()[0]!.closed, 5000);
    expect(server.requests).toHaveLength(2);
  });
});

/**
 * The runtime's own Kubernetes API client (list and watch) against a scripted node:http server on
 * loopback: events split anywhere, error answers, bounds, abort.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApi, KubeApiError, type WatchEventType } from '../../../runtime/cluster-watch/kube-api.js';
import type { KubeObject } from '../../../runtime/cluster-watch/kube-types.js';
import {
  event,
  type ScriptedApi,
  scriptedApi,
  statusAnswer,
  writeInChunks,
} from '../../helpers/scripted-api.js';
import { until } from '../../helpers/wait.js';

const PATH = '/api/v1/namespaces/media/services';
const svc = (name: string, rv: string) => ({
  kind: 'Service',
  metadata: { name, namespace: 'media', resourceVersion: rv, labels: { note: 'grüße, 日本' } },
});

describe('KubeApi', () => {
  let server: ScriptedApi | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const apiOf = (s: ScriptedApi, extra: { maxEventBytes?: number; maxListBytes?: number } = {}) =>
    new KubeApi({
      server: s.url,
      requestOptions: () => ({ headers: { authorization: 'Bearer t' } }),
      ...extra,
    });

  const collect = () => {
    const seen: { type: WatchEventType; name: string | undefined; rv: string | undefined; note: unknown }[] =
      [];
    const onEvent = (type: WatchEventType, o: KubeObject) =>
      seen.push({
        type,
        name: o.metadata?.name,
        rv: o.metadata?.resourceVersion,
        note: o.metadata?.labels?.note,
      });
    return { seen, onEvent };
  };

  it('lists with the selectors, the bearer token and the collection resourceVersion', async () => {
    server = await scriptedApi((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion: '42' }, items: [svc('a', '41')] }),
      );
    });
    const r = await apiOf(server).list(PATH, { labelSelector: 'app=x', fieldSelector: 'metadata.name=a' });
    expect(r.metadata?.resourceVersion).toBe('42');
    expect(r.items.map((o) => o.metadata?.name)).toEqual(['a']);
    const req = server.requests[0]!;
    expect(req.path).toBe(PATH);
    expect(req.query.get('labelSelector')).toBe('app=x');
    expect(req.query.get('fieldSelector')).toBe('metadata.name=a');
    expect(req.authorization).toBe('Bearer t');
  });

  for (const size of [1, 7, 1000]) {
    it(`watch events split across chunks of ${size} byte(s), through multi-byte characters`, async () => {
      const stream =
        event('ADDED', svc('a', '5')) +
        event('MODIFIED', svc('a', '6')) +
        event('BOOKMARK', { kind: 'Service', metadata: { resourceVersion: '9' } }) +
        event('DELETED', svc('a', '10'));
      server = await scriptedApi((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        void writeInChunks(res, stream, size).then(() => res.end());
      });
      const { seen, onEvent } = collect();
      const end = await apiOf(server).watch(PATH, { labelSelector: 'app=x' }, onEvent, {
        resourceVersion: '4',
        timeoutSeconds: 30,
      });
      expect(end).toBe('ended');
      expect(seen.map((e) => `${e.type} ${e.name ?? '-'} ${e.rv}`)).toEqual([
        'ADDED a 5',
        'MODIFIED a 6',
        'BOOKMARK - 9',
        'DELETED a 10',
      ]);
      expect(seen[0]!.note).toBe('grüße, 日本');
      const q = server.requests[0]!.query;
      expect(Object.fromEntries(q)).toEqual({
        labelSelector: 'app=x',
        watch: '1',
        allowWatchBookmarks: 'true',
        timeoutSeconds: '30',
        resourceVersion: '4',
      });
    });
  }

  it('an ERROR event with 410 ends the watch as gone; another code fails it with the message', async () => {
    let code = 410;
    server = await scriptedApi((_req, res) => {
      res.writeHead(200);
      res.write(event('ADDED', svc('a', '5')));
      res.write(event('ERROR', { kind: 'Status', code, message: `code ${code}` }));
      // the stream stays open: the client ends it
    });
    const api = apiOf(server);
    expect(await api.watch(PATH, {}, () => {})).toBe('gone');
    code = 500;
    await expect(api.watch(PATH, {}, () => {})).rejects.toThrow('watch error 500 code 500');
    await until('both streams closed by the client', () => server!.requests.every((r) => r.closed), 5000);
  });

  it('a 403 Status is an error naming the path, the status and the API message', async () => {
    const message =
      'services is forbidden: User "system:serviceaccount:media:x" cannot list resource "services"';
    server = await scriptedApi((_req, res) => statusAnswer(res, 403, 'Forbidden', message));
    const api = apiOf(server);
    const err = await api.list(PATH, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).statusCode).toBe(403);
    expect((err as Error).message).toBe(`GET ${PATH}: 403 Forbidden: ${message}`);
    await expect(api.watch(PATH, {}, () => {})).rejects.toThrow(`GET ${PATH}: 403 Forbidden: ${message}`);
  });

  it('an error answer without a Status says the HTTP status', async () => {
    server = await scriptedApi((_req, res) => {
      res.writeHead(502);
      res.end('<html>bad gateway</html>');
    });
    await expect(apiOf(server).list(PATH)).rejects.toThrow(`GET ${PATH}: 502 Bad Gateway`);
  });

  it('rejects an event line longer than the bound, and a list larger than its bound', async () => {
    let huge = 'x'.repeat(5000);
    server = await scriptedApi((req, res) => {
      res.writeHead(200);
      if (req.url?.includes('watch=1')) {
        res.write(event('ADDED', svc('a', '5')));
        res.write(`{"type":"ADDED","object":{"metadata":{"name":"${huge}`); // no end of line, ever
      } else res.end(JSON.stringify({ metadata: {}, items: [svc(huge, '1')] }));
    });
    const api = apiOf(server, { maxEventBytes: 4096, maxListBytes: 4096 });
    const { seen, onEvent } = collect();
    await expect(api.watch(PATH, {}, onEvent)).rejects.toThrow(/an event longer than 4096 bytes/);
    expect(seen.map((e) => e.name)).toEqual(['a']);
    await expect(api.list(PATH)).rejects.toThrow(/list larger than 4096 bytes/);
    huge = 'x';
    await expect(api.list(PATH)).resolves.toMatchObject({ items: [{ metadata: { name: 'x' } }] });
  });

  it('aborting stops the watch: it ends as ended and the connection closes', async () => {
    server = await scriptedApi((_req, res) => {
      res.writeHead(200);
      res.write(event('ADDED', svc('a', '5')));
    });
    const ctl = new AbortController();
    const { seen, onEvent } = collect();
    const watching = apiOf(server).watch(PATH, {}, onEvent, { signal: ctl.signal });
    await until('the first event', () => seen.length === 1, 5000);
    ctl.abort();
    expect(await watching).toBe('ended');
    await until('the server sees the connection close', () => server!.requests[0]!.closed, 5000);
    // an aborted signal opens nothing
    expect(await apiOf(server).watch(PATH, {}, onEvent, { signal: ctl.signal })).toBe('ended');
    expect(server.requests).toHaveLength(1);
  });

  it('a connection cut mid-stream, a handler that throws, a list past its timeout: each rejects', async () => {
    server = await scriptedApi((req, res) => {
      res.writeHead(200);
      if (req.url?.includes('cut')) {
        res.write(event('ADDED', svc('a', '5')));
        setImmediate(() => res.socket?.destroy());
      } else if (req.url?.includes('watch=1')) {
        res.write(event('ADDED', svc('a', '5')));
      } // else: a list that never answers
    });
    const api = apiOf(server);
    await expect(api.watch(PATH, { cut: '1' }, () => {})).rejects.toThrow();
    await expect(
      api.watch(PATH, {}, () => {
        throw new Error('handler broke');
      }),
    ).rejects.toThrow('handler broke');
    await expect(api.list(PATH, {}, { timeoutMs: 300 })).rejects.toThrow(
      `GET ${PATH}: timed out after 300 ms`,
    );
    await until('every connection closed', () => server!.requests.every((r) => r.closed), 5000);
  });

  it('an unreachable server rejects (no throw out of a socket callback)', async () => {
    server = await scriptedApi(() => {});
    const url = server.url;
    await server.close();
    server = undefined;
    const api = new KubeApi({ server: url, requestOptions: () => ({}) });
    await expect(api.list(PATH)).rejects.toThrow(/ECONNREFUSED/);
    await expect(api.watch(PATH, {}, () => {})).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a failing requestOptions (an unreadable token) rejects the call', async () => {
    const api = new KubeApi({
      server: 'http://127.0.0.1:1',
      requestOptions: () => {
        throw new Error('bearer token: ENOENT');
      },
    });
    await expect(api.list(PATH)).rejects.toThrow('bearer token: ENOENT');
  });
});

/** How the watchers reach the API: the token file re-read per request, the in-cluster address. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiError } from '../../../runtime/cluster-watch/kube-api.js';
import { makeKubeApi } from '../../../runtime/cluster-watch/kube-config.js';
import { type ScriptedApi, scriptedApi, statusAnswer } from '../../helpers/scripted-api.js';

describe('makeKubeApi', () => {
  let server: ScriptedApi | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('re-reads the token file before every request: a rotated token is used at once', async () => {
    let valid = 'Bearer first';
    server = await scriptedApi((req, res) => {
      if (req.headers.authorization !== valid) return statusAnswer(res, 401, 'Unauthorized', 'Unauthorized');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }));
    });
    dir = mkdtempSync(join(tmpdir(), 'kube-token-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first\n');
    const api = makeKubeApi({ server: server.url, tokenFile });
    await expect(api.list('/api/v1/nodes')).resolves.toMatchObject({ items: [] });
    valid = 'Bearer second'; // the API now takes only the rotated token
    const refused = await api.list('/api/v1/nodes').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).statusCode).toBe(401);
    writeFileSync(tokenFile, 'second\n');
    await expect(api.list('/api/v1/nodes')).resolves.toMatchObject({ items: [] });
    expect(server.requests.map((r) => r.authorization)).toEqual([
      'Bearer first',
      'Bearer first',
      'Bearer second',
    ]);
  });

  it('an explicit token file that cannot be read fails at once', () => {
    expect(() => makeKubeApi({ server: 'http://127.0.0.1:1', tokenFile: '/nonexistent/token' })).toThrow(
      /ENOENT/,
    );
  });

  it('in-cluster: the service address, an IPv6 host in brackets; outside a pod every request fails with why', async () => {
    const env = (host: string) => ({ KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: '443' });
    expect(makeKubeApi({}, env('10.96.0.1')).server).toBe('https://10.96.0.1:443');
    expect(makeKubeApi({}, env('fd00:10:96::1')).server).toBe('https://[fd00:10:96::1]:443');
    // not at construction: a watcher retries, and the process keeps serving meanwhile
    const outside = makeKubeApi({}, {});
    await expect(outside.list('/api/v1/namespaces/default/services')).rejects.toThrow(
      /not in a pod: KUBERNETES_SERVICE_HOST\/PORT are not set/,
    );
  });
});

/**
 * The Kubernetes API test double keeps to what the real apiserver showed in
 * test/cluster/list-watch.test.ts (docs/testing-kubernetes.md): a watch without a resourceVersion
 * starts with the current objects as ADDED, and a version older than the history it holds is
 * 410 Gone (an ERROR event with the apiserver's Status), never a silent gap.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { K8sApiDouble, service } from '../../helpers/k8s-api-double.js';

/** The first `n` events of a watch (newline-delimited JSON), then the stream is dropped. */
async function firstEvents(
  api: K8sApiDouble,
  query: string,
  n: number,
): Promise<{ type: string; object: any }[]> {
  const ctl = new AbortController();
  const r = await fetch(`${api.url}/api/v1/namespaces/media/services?watch=true${query}`, {
    headers: { authorization: `Bearer ${api.token}` },
    signal: ctl.signal,
  });
  const out: { type: string; object: any }[] = [];
  let buf = '';
  const reader = r.body!.getReader();
  const deadline = setTimeout(() => ctl.abort(), 2000);
  try {
    while (out.length < n) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        out.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    }
  } catch {
    // the deadline: what came is the answer
  } finally {
    clearTimeout(deadline);
    ctl.abort();
  }
  return out;
}

describe('K8sApiDouble watch semantics', () => {
  let api: K8sApiDouble;
  beforeEach(async () => {
    api = new K8sApiDouble();
    await api.start();
  });
  afterEach(async () => {
    await api.stop();
  });

  it('a watch without a resourceVersion starts with the current objects as ADDED', async () => {
    api.upsert('services', service('media', 'a', {}));
    api.upsert('services', service('media', 'b', {}));
    api.upsert('services', service('media', 'a', { type: 'LoadBalancer' }));
    const events = await firstEvents(api, '', 2);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b']);
    expect(events[0]!.object.spec.type).toBe('LoadBalancer');
  });

  it('a version older than the history it holds is 410 Gone, with the Status the apiserver sends', async () => {
    api.upsert('services', service('media', 'a', {}));
    const old = 101; // the first write after the double's initial 100
    for (let i = 0; i < 1001; i++)
      api.upsert('services', service('media', 'a', { clusterIP: `10.0.${i >> 8}.${i & 255}` }));
    const [gone] = await firstEvents(api, `&resourceVersion=${old}`, 1);
    expect(gone).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 },
    });
    expect(gone!.object.message).toMatch(/^too old resource version: 101 \(\d+\)$/);
    // a recent version still replays
    const [next] = await firstEvents(api, '&resourceVersion=1101', 1);
    expect(next?.type).toBe('MODIFIED');
  });
});

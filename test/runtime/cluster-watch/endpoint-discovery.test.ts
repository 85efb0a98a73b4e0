/**
 * Endpoint discovery against the Kubernetes API TEST DOUBLE: list, watch, 410 relist, outage.
 * The sink here records calls; the perimeter through the real runtime is tested in test/day2.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../../contract/config/index.js';
import { EndpointDiscovery } from '../../../runtime/cluster-watch/endpoint-discovery.js';
import { makeKubeApi } from '../../../runtime/cluster-watch/kube-config.js';
import { createLogger } from '../../../runtime/log/logger.js';
import { endpointSlice, K8sApiDouble, service } from '../../helpers/k8s-api-double.js';
import { sleep, until } from '../../helpers/wait.js';

const lines: string[] = [];
const log = createLogger('all:DEBUG', (l) => lines.push(l)).scope('watch');

const cluster: ClusterConfig = {
  name: 'media/route',
  type: 'STRICT_DNS',
  protocol: 'UDP',
  endpoints: ['backend.media.svc.cluster.local'],
};

describe('EndpointDiscovery', () => {
  let api: K8sApiDouble;
  let disco: EndpointDiscovery;
  let calls: { cluster: string; ips: readonly string[] | undefined; at: number }[];
  const last = () => calls.at(-1)?.ips;

  beforeEach(async () => {
    lines.length = 0;
    api = new K8sApiDouble();
    await api.start();
    calls = [];
    disco = new EndpointDiscovery({
      api: makeKubeApi({ server: api.url, token: api.token }),
      sink: { setDynamicEndpoints: (c, ips) => calls.push({ cluster: c, ips, at: Date.now() }) },
      log,
      initialBackoffMs: 50,
      maxBackoffMs: 200,
    });
  });

  afterEach(async () => {
    disco.stop();
    await api.stop();
  });

  it('reports ready slice addresses plus the ClusterIP, and follows changes within 1 s', async () => {
    api.upsert('services', service('media', 'backend', { clusterIP: '10.96.0.10' }));
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-a', [{ ip: '10.0.0.1' }]));
    api.upsert('endpointslices', endpointSlice('media', 'other', 'other-a', [{ ip: '10.9.9.9' }]));
    disco.update([cluster]);
    await until(() => last()?.length === 2);
    expect(last()).toEqual(['10.0.0.1', '10.96.0.10']);
    expect(calls.every((c) => c.cluster === 'media/route')).toBe(true);
    await until(() => api.openWatches('endpointslices') === 1 && api.openWatches('services') === 1);

    const t0 = Date.now();
    api.upsert(
      'endpointslices',
      endpointSlice('media', 'backend', 'backend-a', [
        { ip: '10.0.0.1' },
        { ip: '10.0.0.2' },
        { ip: '10.0.0.3', ready: false },
      ]),
    );
    await until(() => last()?.includes('10.0.0.2') === true, 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(last()).toEqual(['10.0.0.1', '10.0.0.2', '10.96.0.10']);

    api.remove('endpointslices', 'media', 'backend-a');
    await until(() => last()?.length === 1, 1000);
    expect(last()).toEqual(['10.96.0.10']);
    // the label selector went to the API: the other Service's slice never showed up
    expect(calls.some((c) => c.ips?.includes('10.9.9.9'))).toBe(false);
    expect(api.requests.some((r) => r.includes('labelSelector=kubernetes.io%2Fservice-name%3Dbackend'))).toBe(
      true,
    );
  });

  it('never widens while the API is down, and replaces (not merges) on relist', async () => {
    api.upsert('services', service('media', 'backend', { clusterIP: '10.96.0.10' }));
    api.upsert(
      'endpointslices',
      endpointSlice('media', 'backend', 'backend-a', [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }]),
    );
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-b', [{ ip: '10.0.0.8' }]));
    disco.update([cluster]);
    await until(() => last()?.length === 4);
    await until(() => api.openWatches() === 2);

    api.setOutage(true);
    const before = calls.length;
    // while down: a pod is removed and another added, and a whole slice goes away
    api.upsert(
      'endpointslices',
      endpointSlice('media', 'backend', 'backend-a', [{ ip: '10.0.0.2' }, { ip: '10.0.0.7' }]),
    );
    api.remove('endpointslices', 'media', 'backend-b');
    await until('the outage noticed', () => lines.some((l) => /API unreachable/.test(l)));
    // a negative check: time for retries during the outage, which must report nothing
    await sleep(300);
    expect(calls.length).toBe(before);
    expect(lines.some((l) => /API unreachable/.test(l))).toBe(true);

    api.compact(); // the events of the outage are gone: only a relist can show the truth
    api.setOutage(false);
    await until(() => last()?.includes('10.0.0.7') === true, 3000);
    expect(last()).toEqual(['10.0.0.2', '10.0.0.7', '10.96.0.10']);
    expect(lines.some((l) => /API reachable again/.test(l))).toBe(true);
  });

  it('resumes a watch that the server ended, and relists on 410 Gone', async () => {
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-a', [{ ip: '10.0.0.1' }]));
    disco.update([cluster]);
    await until(() => last()?.length === 1);
    await until(() => api.openWatches('endpointslices') === 1);
    // not an event to wait for: a watch counts as held (no relist) once open 1 s (list-watch.ts)
    await sleep(1100);
    const lists = () =>
      api.requests.filter((r) => r.includes('endpointslices') && !r.includes('watch=')).length;
    expect(lists()).toBe(1);
    api.endWatches(); // a normal server-side timeout: resume from the resourceVersion, no relist
    await until(() => api.openWatches('endpointslices') === 1);
    expect(lists()).toBe(1);
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-b', [{ ip: '10.0.0.2' }]));
    await until(() => last()?.length === 2, 1000);

    // as above: the resumed watch must hold 1 s before it ends
    await sleep(1100);
    api.compact();
    api.endWatches(); // the resumed watch now gets 410 Gone: relist
    await until(() => lists() === 2, 3000);
    api.remove('endpointslices', 'media', 'backend-a');
    await until(() => last()?.length === 1, 1000);
    expect(last()).toEqual(['10.0.0.2']);
  });

  it('reports nothing before the first successful list', async () => {
    api.setOutage(true);
    disco.update([cluster]);
    await until('the outage noticed', () => lines.some((l) => /API unreachable/.test(l)));
    // a negative check: time for a report, which must not come before a successful list
    await sleep(300);
    expect(calls).toEqual([]); // never synced: the runtime keeps its DNS view, nothing added
    api.setOutage(false);
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-a', [{ ip: '10.0.0.5' }]));
    await until(() => last()?.length === 1, 3000);
    expect(last()).toEqual(['10.0.0.5']);
  });

  it('keeps the port range of the DNS endpoint on every address found for it', async () => {
    api.upsert('services', service('media', 'backend', { clusterIP: '10.96.0.10' }));
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-a', [{ ip: '10.0.0.1' }]));
    disco.update([{ ...cluster, endpoints: ['backend.media.svc.cluster.local:<9000-9001>'] }]);
    await until(() => last()?.length === 2);
    expect(last()).toEqual(['10.0.0.1:<9000-9001>', '10.96.0.10:<9000-9001>']);
  });

  it('drops the dynamic set of a cluster that leaves the config', async () => {
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-a', [{ ip: '10.0.0.1' }]));
    disco.update([cluster]);
    await until(() => last()?.length === 1);
    disco.update([]);
    expect(calls.at(-1)).toMatchObject({ cluster: 'media/route', ips: undefined });
    await until(() => api.openWatches() === 0);
  });
});

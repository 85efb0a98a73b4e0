/** The auth service follows gateways' public addresses from their Services (Kubernetes API TEST DOUBLE). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeKubeApi } from '../../../runtime/cluster-watch/kube-config.js';
import { IceAuthServer } from '../../../runtime/ice/server.js';
import { GatewayServiceWatch } from '../../../runtime/ice/service-watch.js';
import { createLogger } from '../../../runtime/log/logger.js';
import { K8sApiDouble, service } from '../../helpers/k8s-api-double.js';
import { until } from '../../helpers/wait.js';
import { staticTlsGateway } from './fixtures.js';

const log = createLogger('all:ERROR').scope('watch');

describe('auth service + gateway Service watch', () => {
  let api: K8sApiDouble;
  let server: IceAuthServer;
  let watch: GatewayServiceWatch;
  let base: string;

  beforeEach(async () => {
    api = new K8sApiDouble();
    await api.start();
    server = new IceAuthServer();
    base = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
    watch = new GatewayServiceWatch({
      api: makeKubeApi({ server: api.url, token: api.token }),
      log,
      setPublicAddress: (gw, a, p) => server.setPublicAddress(gw, a, p),
      initialBackoffMs: 50,
      maxBackoffMs: 200,
    });
  });

  afterEach(async () => {
    watch.stop();
    await server.close();
    await api.stop();
  });

  const urls = async (): Promise<string[] | number> => {
    const res = await fetch(`${base}/ice?service=turn&namespace=games&gateway=tls-gw`);
    if (res.status !== 200) return res.status;
    return ((await res.json()) as { iceServers: { urls: string[] }[] }).iceServers[0]!.urls;
  };

  it('answers 404 until the load balancer has an address, then uses it and its ports', async () => {
    const cfg = staticTlsGateway();
    server.setConfigs([cfg]);
    watch.sync([cfg]);
    expect(watch.gateways()).toEqual(['games/tls-gw']);
    api.upsert(
      'services',
      service('games', 'tls-gw', {
        type: 'LoadBalancer',
        ports: [{ name: 'tls', port: 443, protocol: 'TCP' }],
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(await urls()).toBe(404);

    api.upsert(
      'services',
      service('games', 'tls-gw', {
        type: 'LoadBalancer',
        ports: [
          { name: 'tls', port: 8443, protocol: 'TCP' },
          { name: 'dtls', port: 8443, protocol: 'UDP' },
        ],
        ingress: [{ ip: '198.51.100.9' }],
      }),
    );
    await until('the load-balancer address in /ice', async () => Array.isArray(await urls()), 5000);
    expect(await urls()).toEqual([
      'turns:198.51.100.9:8443?transport=tcp',
      'turns:198.51.100.9:8443?transport=udp',
    ]);

    // The gateway goes away from the mounted configs: its watcher stops and its address is forgotten.
    watch.sync([]);
    expect(watch.gateways()).toEqual([]);
    expect(server.publicAddresses.get('games/tls-gw')).toBeUndefined();
  });
});

/** Public address discovery against the Kubernetes API TEST DOUBLE. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ListenerConfig } from '../../../contract/config/index.js';
import { makeKubeApi } from '../../../runtime/cluster-watch/kube-config.js';
import { type PublicAddress, PublicAddressWatcher } from '../../../runtime/cluster-watch/public-address.js';
import { createLogger } from '../../../runtime/log/logger.js';
import { K8sApiDouble, node, service } from '../../helpers/k8s-api-double.js';
import { sleep, until } from '../../helpers/wait.js';

const lines: string[] = [];
const log = createLogger('all:WARN', (l) => lines.push(l)).scope('watch');

const listeners: ListenerConfig[] = [
  {
    name: 'stunner/udp-gateway/udp-listener',
    protocol: 'TURN-UDP',
    address: '0.0.0.0',
    port: 3478,
    routes: [],
  },
  {
    name: 'stunner/udp-gateway/tcp-listener',
    protocol: 'TURN-TCP',
    address: '0.0.0.0',
    port: 3478,
    routes: [],
  },
];

describe('PublicAddressWatcher', () => {
  let api: K8sApiDouble;
  let w: PublicAddressWatcher;
  let seen: (PublicAddress | undefined)[];

  beforeEach(async () => {
    api = new K8sApiDouble();
    await api.start();
    seen = [];
    w = new PublicAddressWatcher({
      api: makeKubeApi({ server: api.url, token: api.token }),
      namespace: 'stunner',
      service: 'udp-gateway',
      nodeName: 'node-1',
      log,
      onChange: (a) => seen.push(a),
      initialBackoffMs: 50,
      maxBackoffMs: 200,
    });
  });

  afterEach(async () => {
    w.stop();
    await api.stop();
  });

  const lbPorts = [
    { name: 'udp-listener', port: 3478, protocol: 'UDP', nodePort: 31000 },
    { name: 'tcp-listener', port: 3478, protocol: 'TCP', nodePort: 31001 },
  ];

  /** The gateway's Service as its controller sets it: a type and, once provisioned, LB ingress. */
  const gatewayService = (type: string, ingress?: { ip?: string; hostname?: string }[]) =>
    api.upsert(
      'services',
      service('stunner', 'udp-gateway', {
        type,
        clusterIP: '10.96.1.1',
        ports: lbPorts,
        ...(ingress && { ingress }),
      }),
    );

  it('follows the load-balancer ingress, falls back to node ExternalIP + NodePort', async () => {
    api.upsert(
      'nodes',
      node('node-1', [
        { type: 'InternalIP', address: '10.0.0.5' },
        { type: 'ExternalIP', address: '203.0.113.7' },
      ]),
    );
    gatewayService('LoadBalancer');
    w.start(listeners);
    // pending load balancer: NodePort fallback
    await until(() => w.get()?.source === 'NodePort');
    expect(w.get()?.address).toBe('203.0.113.7');
    expect([...(w.get()?.ports ?? [])]).toEqual([
      ['udp-listener', 31000],
      ['tcp-listener', 31001],
    ]);

    gatewayService('LoadBalancer', [{ ip: '198.51.100.9' }]);
    await until(() => w.get()?.source === 'LoadBalancer', 1000);
    expect(w.get()?.address).toBe('198.51.100.9');
    expect(w.get()?.ports.get('udp-listener')).toBe(3478);

    gatewayService('LoadBalancer', [{ hostname: 'lb.example.com' }]);
    await until(() => w.get()?.address === 'lb.example.com', 1000);

    api.remove('services', 'stunner', 'udp-gateway');
    await until(() => w.get() === undefined, 1000);
    expect(seen.at(-1)).toBeUndefined();
  });

  it('has no NodePort fallback when reading Nodes is forbidden or the Service is ClusterIP', async () => {
    api.forbidden.add('nodes');
    api.upsert('nodes', node('node-1', [{ type: 'ExternalIP', address: '203.0.113.7' }]));
    gatewayService('NodePort');
    w.start(listeners);
    await until(() => api.requests.some((r) => r.startsWith('/api/v1/namespaces/stunner/services')));
    await until('the refused Node read logged', () =>
      lines.some((l) => /Node node-1: not allowed \(HTTP 403\)/.test(l)),
    );
    // a negative check: time for a fallback address, which must not appear
    await sleep(100);
    expect(w.get()).toBeUndefined();
    expect(lines.some((l) => /Node node-1: not allowed \(HTTP 403\); check the watcher's RBAC/.test(l))).toBe(
      true,
    );
    api.forbidden.delete('nodes');
    await until(() => w.get()?.source === 'NodePort', 3000);
    gatewayService('ClusterIP');
    await until(() => w.get() === undefined, 1000);
  });
});

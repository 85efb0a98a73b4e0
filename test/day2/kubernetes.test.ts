/**
 * Day 2 in a "cluster": the real runtime (runStunnerd -> Relay, real UDP sockets on loopback)
 * follows the Kubernetes API TEST DOUBLE. Perimeter changes are verified with real TURN
 * CreatePermission (success vs 403) and relayed ChannelData; public addresses via /status and
 * the ICE auth service's hook; API outages must never widen the perimeter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StunnerConfigInput } from '../../contract/config/index.js';
import { parseConfig } from '../../contract/config/index.js';
import { IceAuthServer } from '../../runtime/ice/server.js';
import { createLogger } from '../../runtime/log/logger.js';
import { runStunnerd, type StunnerdProcess } from '../../runtime/process/stunnerd.js';
import { endpointSlice, K8sApiDouble, service } from '../helpers/k8s-api-double.js';
import { freePort, freeTcpPort, httpGet } from '../helpers/net.js';
import { TurnClient, TurnError, UdpPeer } from '../helpers/turn-client.js';
import { until } from '../helpers/wait.js';

async function permits(c: TurnClient, ip: string): Promise<boolean> {
  try {
    await c.createPermission(ip);
    return true;
  } catch (e) {
    if (e instanceof TurnError && e.code === 403) return false;
    throw e;
  }
}

describe('day 2 with the Kubernetes API test double', () => {
  const api = new K8sApiDouble();
  const ice = new IceAuthServer();
  const lines: string[] = [];
  let daemon: StunnerdProcess;
  let turnPort: number;
  let healthPort: number;
  let client: TurnClient;
  let rangedPeer: UdpPeer;
  let otherPeer: UdpPeer;

  const status = async () => {
    const r = await httpGet(healthPort, '/status');
    return (await r.json()) as Record<string, unknown> & {
      publicAddresses: { listener: string; address: string; port: number; source: string }[];
    };
  };

  beforeAll(async () => {
    await api.start();
    api.upsert('services', service('media', 'backend', { clusterIP: '127.0.0.50' }));
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-1', [{ ip: '127.0.0.2' }]));
    // a Service backend with a port range: only that range may be reached on its pods
    rangedPeer = await UdpPeer.open(true, '127.0.0.6');
    otherPeer = await UdpPeer.open(true, '127.0.0.6');
    api.upsert('endpointslices', endpointSlice('media', 'ranged', 'ranged-1', [{ ip: '127.0.0.6' }]));
    turnPort = await freePort();
    healthPort = await freeTcpPort();
    const input: StunnerConfigInput = {
      version: 'v1',
      admin: { name: 'stunner/udp-gateway', healthcheck_endpoint: `http://127.0.0.1:${healthPort}` },
      auth: { type: 'static', realm: 'day2', credentials: { username: 'user', password: 'pass' } },
      listeners: [
        {
          name: 'stunner/udp-gateway/udp-listener',
          protocol: 'TURN-UDP',
          address: '127.0.0.1',
          port: turnPort,
          routes: ['media/route', 'media/ranged'],
        },
      ],
      clusters: [
        { name: 'media/route', type: 'STRICT_DNS', endpoints: ['backend.media.svc.cluster.local'] },
        {
          name: 'media/ranged',
          type: 'STRICT_DNS',
          endpoints: [
            `ranged.media.svc.cluster.local:<${rangedPeer.address.port}-${rangedPeer.address.port}>`,
          ],
        },
      ],
    };
    daemon = await runStunnerd({
      config: parseConfig(input),
      logger: createLogger('all:INFO', (l) => lines.push(l)),
      handleSignals: false,
      kubernetes: { server: api.url, token: api.token, initialBackoffMs: 50, maxBackoffMs: 300 },
      onPublicAddress: (gw, addr, ports) => ice.setPublicAddress(gw, addr, ports),
    });
    client = await TurnClient.open({ host: '127.0.0.1', port: turnPort, username: 'user', password: 'pass' });
    await client.allocate();
  });

  afterAll(async () => {
    client?.close();
    rangedPeer?.close();
    otherPeer?.close();
    await daemon?.stop();
    await api.stop();
  });

  it('a new backend pod becomes reachable and a removed one unreachable, within 1 s', async () => {
    await until('the first EndpointSlice list reaches the runtime', () => permits(client, '127.0.0.2'));
    expect(await permits(client, '127.0.0.3')).toBe(false);
    expect(await permits(client, '127.0.0.50')).toBe(true); // the ClusterIP
    expect(lines.some((l) => /permission denied.*no route to endpoint/.test(l))).toBe(true);

    // a new pod: its IP gets through, and media really flows to it
    const peer = await UdpPeer.open(true, '127.0.0.3');
    try {
      api.upsert(
        'endpointslices',
        endpointSlice('media', 'backend', 'backend-1', [{ ip: '127.0.0.2' }, { ip: '127.0.0.3' }]),
      );
      const took = await until('the new pod is permitted', () => permits(client, '127.0.0.3'), 1000);
      expect(took).toBeLessThan(1000);
      await client.channelBind(0x4001, peer.address);
      client.channelData(0x4001, Buffer.from('hello pod'));
      await until('the echo comes back through the relay', () => client.count(0x4001) > 0, 2000);
      expect(client.payloads(0x4001)[0]?.toString()).toBe('hello pod');
    } finally {
      peer.close();
    }

    // the old pod goes away
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-1', [{ ip: '127.0.0.3' }]));
    const took = await until(
      'the removed pod is refused',
      async () => !(await permits(client, '127.0.0.2')),
      1000,
    );
    expect(took).toBeLessThan(1000);
    // a pod that is not ready is not a backend
    api.upsert(
      'endpointslices',
      endpointSlice('media', 'backend', 'backend-1', [
        { ip: '127.0.0.3' },
        { ip: '127.0.0.4', ready: false },
      ]),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(await permits(client, '127.0.0.4')).toBe(false);
  });

  it("a Service backend's port range holds for the pod addresses found for it", async () => {
    await until('the ranged pod is permitted', () => permits(client, '127.0.0.6'));
    await client.channelBind(0x4002, rangedPeer.address);
    client.channelData(0x4002, Buffer.from('in range'));
    await until('the in-range peer echoes', () => client.count(0x4002) > 0, 2000);
    const refused = await client.channelBind(0x4003, otherPeer.address).then(
      () => false,
      (e: unknown) => e instanceof TurnError && e.code === 403,
    );
    if (!refused) client.channelData(0x4003, Buffer.from('out of range'));
    await new Promise((r) => setTimeout(r, 300));
    expect(otherPeer.got).toHaveLength(0);
    expect(client.count(0x4003)).toBe(0);
  });

  it('never widens the perimeter while the API is unreachable; relist replaces', async () => {
    await until('pod .3 permitted', () => permits(client, '127.0.0.3'));
    api.setOutage(true);
    await until('the watcher noticed the outage', () => lines.some((l) => /API unreachable/.test(l)));
    // the cluster changes while we cannot see it: the old slice is deleted, a new one appears
    api.remove('endpointslices', 'media', 'backend-1');
    api.upsert('endpointslices', endpointSlice('media', 'backend', 'backend-2', [{ ip: '127.0.0.5' }]));
    await new Promise((r) => setTimeout(r, 700));
    expect(await permits(client, '127.0.0.5')).toBe(false); // unknown: stays closed
    expect(await permits(client, '127.0.0.3')).toBe(true); // last known: kept
    expect(await permits(client, '127.0.0.9')).toBe(false);

    api.compact();
    api.setOutage(false);
    await until('the relist admits the new pod', () => permits(client, '127.0.0.5'), 3000);
    expect(await permits(client, '127.0.0.3')).toBe(false); // stale pod gone after relist
    const s = await status();
    expect(s.dynamicEndpoints).toEqual({
      'media/route': ['127.0.0.5', '127.0.0.50'],
      'media/ranged': [`127.0.0.6:<${rangedPeer.address.port}-${rangedPeer.address.port}>`],
    });
  });

  it('repeated outages (cut, clean watch end, compaction): probed every 50 ms, the perimeter never widens', async () => {
    // a pod address per outage, never admitted before it: a permission left from an earlier
    // cycle cannot blur what the outage itself admits
    const hidden = ['127.0.0.8', '127.0.0.10', '127.0.0.11'];
    const peers = await Promise.all(hidden.map((ip) => UdpPeer.open(true, ip)));
    try {
      const noticed = () => lines.filter((l) => /API unreachable/.test(l)).length;
      let probes = 0;
      for (const [cycle, how] of (['cut', 'end', 'compact'] as const).entries()) {
        const ip = hidden[cycle]!;
        const before = noticed();
        if (how === 'end') api.endWatches();
        api.setOutage(true);
        await until(`outage ${cycle + 1} noticed`, () => noticed() > before, 3000);
        // the cluster gains a pod while the runtime cannot see it
        api.upsert('endpointslices', endpointSlice('media', 'backend', `hidden-${cycle}`, [{ ip }]));
        const stopAt = Date.now() + 600;
        while (Date.now() < stopAt) {
          expect(await permits(client, ip), `outage ${cycle + 1}: ${ip} admitted`).toBe(false);
          expect(await permits(client, '127.0.0.9')).toBe(false);
          client.send({ family: 4, address: ip, port: peers[cycle]!.address.port }, Buffer.from('leak?'));
          probes++;
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(peers[cycle]!.got).toHaveLength(0);
        if (how === 'compact') api.compact();
        api.setOutage(false);
        // the perimeter follows the cluster again once it can see it, and narrows again
        await until(`after outage ${cycle + 1}: the new pod is admitted`, () => permits(client, ip), 3000);
        api.remove('endpointslices', 'media', `hidden-${cycle}`);
        await until(
          `after outage ${cycle + 1}: the removed pod is refused`,
          async () => !(await permits(client, ip)),
          3000,
        );
      }
      console.log(
        `perimeter during 3 API outages: ${probes} probe rounds, 0 admitted, 0 datagrams to unknown pods`,
      );
    } finally {
      for (const p of peers) p.close();
    }
  });

  it('public address updates reach /status and the ICE auth service', async () => {
    const ports = [{ name: 'udp-listener', port: 3478, protocol: 'UDP', nodePort: 31478 }];
    const loadBalancer = (ingress?: { ip?: string; hostname?: string }[]) =>
      api.upsert(
        'services',
        service('stunner', 'udp-gateway', {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.9',
          ports,
          ...(ingress && { ingress }),
        }),
      );
    loadBalancer();
    await new Promise((r) => setTimeout(r, 200));
    expect((await status()).publicAddresses).toEqual([]); // LB pending, no node access configured

    loadBalancer([{ ip: '198.51.100.10' }]);
    await until(
      'status shows the LB address',
      async () => (await status()).publicAddresses.length === 1,
      1000,
    );
    expect((await status()).publicAddresses).toEqual([
      {
        listener: 'stunner/udp-gateway/udp-listener',
        address: '198.51.100.10',
        port: 3478,
        source: 'LoadBalancer',
      },
    ]);
    expect(ice.publicAddresses.get('stunner/udp-gateway')?.address).toBe('198.51.100.10');

    loadBalancer([{ hostname: 'turn.example.com' }]);
    await until(
      'status shows the new hostname',
      async () => (await status()).publicAddresses[0]?.address === 'turn.example.com',
      1000,
    );
    expect(ice.publicAddresses.get('stunner/udp-gateway')?.address).toBe('turn.example.com');
    const s = await status();
    expect(s.status).toBe('READY');
    expect(JSON.stringify(s)).not.toContain('pass"');
  });
});

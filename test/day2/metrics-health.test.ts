/**
 * /metrics counters move with real relayed traffic, under STUNner's names and labels; /live,
 * /ready and /status answer as STUNner's do; draining flips readiness.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../contract/config/index.js';
import { createLogger } from '../../runtime/log/logger.js';
import { METRIC_NAMES } from '../../runtime/process/metrics.js';
import { runStunnerd, type StunnerdProcess } from '../../runtime/process/stunnerd.js';
import { freePort, freeTcpPort, httpGet } from '../helpers/net.js';
import { TurnClient, UdpPeer } from '../helpers/turn-client.js';
import { until } from '../helpers/wait.js';

/** Parses the exposition text into `name{labels}` -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('metrics and health endpoints', () => {
  let daemon: StunnerdProcess;
  let turnPort: number;
  let adminPort: number;
  let metricsPort: number;
  let peer: UdpPeer;
  let client: TurnClient;
  const L = 'media/gw/udp';
  const C = 'media/peers';

  const scrape = async () => samples(await (await httpGet(metricsPort, '/metrics')).text());

  beforeAll(async () => {
    turnPort = await freePort();
    adminPort = await freeTcpPort();
    metricsPort = await freeTcpPort();
    peer = await UdpPeer.open();
    daemon = await runStunnerd({
      config: parseConfig({
        version: 'v1',
        admin: {
          name: 'media/gw',
          healthcheck_endpoint: `http://127.0.0.1:${adminPort}`,
          metrics_endpoint: `http://127.0.0.1:${metricsPort}/metrics`,
        },
        auth: { realm: 'metrics', credentials: { username: 'user', password: 'pass' } },
        listeners: [{ name: L, address: '127.0.0.1', port: turnPort, routes: [C] }],
        clusters: [{ name: C, endpoints: ['127.0.0.1'] }],
      }),
      logger: createLogger('all:WARN', () => {}),
      handleSignals: false,
      kubernetes: false,
    });
  });

  afterAll(async () => {
    client?.close();
    peer?.close();
    await daemon?.stop();
  });

  it('exports every STUNner metric, and the counters move with the traffic', async () => {
    const before = await scrape();
    expect(before.get('stunner_allocations_active')).toBe(0);
    const text = await (await httpGet(metricsPort, '/metrics')).text();
    for (const m of METRIC_NAMES) expect(text).toContain(`# TYPE ${m} `);
    expect(text).toMatch(/^process_cpu_seconds_total /m);

    client = await TurnClient.open({ host: '127.0.0.1', port: turnPort, username: 'user', password: 'pass' });
    await client.allocate();
    await client.channelBind(0x4000, peer.address);
    const N = 50;
    for (let i = 0; i < N; i++) client.channelData(0x4000, Buffer.alloc(100, i));
    await until('all echoes are back', () => client.count(0x4000) === N);

    const after = await scrape();
    const v = (k: string) => after.get(k) ?? Number.NaN;
    expect(v('stunner_allocations_active')).toBe(1);
    expect(v(`stunner_listener_connections{name="${L}"}`)).toBe(1);
    expect(v(`stunner_listener_connections_total{name="${L}"}`)).toBe(1);
    // at least the N ChannelData frames each way, plus the control messages
    expect(v(`stunner_listener_packets_total{name="${L}",direction="rx"}`)).toBeGreaterThanOrEqual(N);
    expect(v(`stunner_listener_packets_total{name="${L}",direction="tx"}`)).toBeGreaterThanOrEqual(N);
    expect(v(`stunner_listener_bytes_total{name="${L}",direction="rx"}`)).toBeGreaterThanOrEqual(N * 104);
    expect(v(`stunner_cluster_packets_total{name="${C}",direction="tx"}`)).toBe(N);
    expect(v(`stunner_cluster_packets_total{name="${C}",direction="rx"}`)).toBe(N);
    expect(v(`stunner_cluster_bytes_total{name="${C}",direction="tx"}`)).toBe(N * 100);
    expect(v(`stunner_cluster_bytes_total{name="${C}",direction="rx"}`)).toBe(N * 100);

    for (let i = 0; i < 10; i++) client.channelData(0x4000, Buffer.alloc(10));
    await until('ten more echoes', () => client.count(0x4000) === N + 10);
    const later = await scrape();
    expect(later.get(`stunner_cluster_packets_total{name="${C}",direction="tx"}`)).toBe(N + 10);
    expect(later.get(`stunner_cluster_bytes_total{name="${C}",direction="tx"}`)).toBe(N * 100 + 100);
  });

  it('serves /live, /ready and /status; draining turns /ready to 503', async () => {
    expect((await httpGet(adminPort, '/live')).status).toBe(200);
    expect((await httpGet(adminPort, '/ready')).status).toBe(200);
    const s = (await (await httpGet(adminPort, '/status')).json()) as Record<string, unknown>;
    expect(s.status).toBe('READY');
    expect(s.allocationCount).toBe(1);
    expect(s.listeners).toEqual([expect.objectContaining({ name: L, protocol: 'TURN-UDP', port: turnPort })]);
    expect(JSON.stringify(s.clusters)).toContain(C);
    expect(s.publicAddresses).toEqual([]);
    expect(JSON.stringify(s)).not.toContain('"pass"');
    expect((await httpGet(adminPort, '/nope')).status).toBe(404);

    const done = daemon.drain();
    expect((await httpGet(adminPort, '/ready')).status).toBe(503);
    expect((await httpGet(adminPort, '/live')).status).toBe(200);
    expect(((await (await httpGet(adminPort, '/status')).json()) as { status: string }).status).toBe(
      'TERMINATING',
    );
    await client.refresh(0); // the last allocation ends: the daemon stops by itself
    expect(await done).toBe(0);
  });
});

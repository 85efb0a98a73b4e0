import { App, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { MediasoupChart } from '../../examples/mediasoup/chart.js';
import { dataplaneConfig, find, maskRuntime, validateManifest } from './helpers.js';

describe('examples/mediasoup', () => {
  const chart = new MediasoupChart(Testing.app(), 'mediasoup');
  const objects = Testing.synth(chart);

  it('synthesizes schema-valid objects', () => {
    for (const o of objects) validateManifest(o);
    expect(App.of(chart).charts).toHaveLength(1);
  });

  it('routes the gateway to the SFU Service pods, on the RTC port range only', () => {
    expect(dataplaneConfig(objects, 'udp-gateway').clusters).toEqual([
      {
        name: 'mediasoup/mediasoup-media',
        type: 'STRICT_DNS',
        protocol: 'UDP',
        endpoints: ['mediasoup-server.mediasoup.svc.cluster.local:<40000-49999>'],
      },
    ]);
    const svc = find(objects, 'Service', 'mediasoup-server');
    const egress = find(objects, 'NetworkPolicy', 'udp-gateway').spec.egress;
    expect(egress).toContainEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mediasoup' } },
          podSelector: { matchLabels: svc.spec.selector },
        },
      ],
      ports: [{ protocol: 'UDP', port: 40000, endPort: 49999 }],
    });
  });

  it('matches the snapshot', () => {
    expect(maskRuntime(objects)).toMatchSnapshot();
  });
});

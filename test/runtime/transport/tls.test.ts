/** TURN-TLS: cert and key (base64 PEM) from the config, relaying over TLS with padded ChannelData. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/net.js';
import { type InProcessStunnerd, startStunnerdInProcess } from '../../helpers/stunnerd.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { TurnClient, UdpPeer } from '../../helpers/turn-client.js';

describe('TURN-TLS listener', () => {
  let rt: InProcessStunnerd;
  let port: number;

  beforeAll(async () => {
    const { cert, key } = await selfSignedCert();
    port = await freePort();
    rt = await startStunnerdInProcess({
      version: 'v1',
      admin: { healthcheck_endpoint: '' },
      auth: { credentials: { username: 'u', password: 'p' } },
      listeners: [
        { name: 'tls', protocol: 'TURN-TLS', address: '127.0.0.1', port, cert, key, routes: ['c'] },
      ],
      clusters: [{ name: 'c', endpoints: ['127.0.0.1'] }],
    });
  });

  afterAll(async () => {
    await rt?.stop();
  });

  it('allocates and relays ChannelData over TLS', async () => {
    const peer = await UdpPeer.open(true);
    const c = await TurnClient.open({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'p',
      transport: 'tls',
    });
    await c.allocate();
    await c.channelBind(0x4100, peer.address);
    c.channelData(0x4100, Buffer.from('abc'));
    c.channelData(0x4100, Buffer.from('defgh'));
    await c.waitReceived(2);
    expect(c.received.map((r) => r.data.toString())).toEqual(['abc', 'defgh']);
    expect(rt.daemon.stats.listeners.get('tls')!.connectionsTotal).toBe(1);
    c.close();
    peer.close();
  });
});

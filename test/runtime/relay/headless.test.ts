/**
 * Headless mode and clock-driven behaviour: a cluster holding the gateway's own address lets two
 * clients relay to each other (but never to the listener port), and nonces go stale with time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Attr, Method } from '../../../runtime/stun/index.js';
import { freePort } from '../../helpers/net.js';
import { type InProcessStunnerd, startStunnerdInProcess } from '../../helpers/stunnerd.js';
import { TurnClient, TurnError } from '../../helpers/turn-client.js';

describe('headless relaying and the clock', () => {
  let rt: InProcessStunnerd;
  let port: number;
  let clock = 1_700_000_000_000;
  const clients: TurnClient[] = [];

  beforeEach(async () => {
    port = await freePort();
    rt = await startStunnerdInProcess(
      {
        version: 'v1',
        admin: { healthcheck_endpoint: '' },
        auth: { realm: 'headless', credentials: { username: 'u', password: 'p' } },
        listeners: [{ name: 'udp', address: '127.0.0.1', port, routes: ['self'] }],
        // What the constructs render for a headless route: the gateway's own address.
        clusters: [{ name: 'self', endpoints: ['127.0.0.1'] }],
      },
      { now: () => clock },
    );
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await rt.stop();
  });

  const open = async () => {
    const c = await TurnClient.open({ host: '127.0.0.1', port, username: 'u', password: 'p' });
    clients.push(c);
    return c;
  };

  it('lets two clients reach each other through their relay addresses', async () => {
    const a = await open();
    const b = await open();
    const ra = await a.allocate();
    const rb = await b.allocate();
    await a.channelBind(0x4000, rb);
    await b.createPermission(ra);
    a.channelData(0x4000, Buffer.from('a to b'));
    await b.waitReceived(1);
    expect(b.received[0]).toMatchObject({ via: 'data', peer: ra });
    expect(b.received[0]!.data.toString()).toBe('a to b');
    b.send(ra, Buffer.from('b to a'));
    await a.waitReceived(1);
    expect(a.received[0]!.via).toBe(0x4000);
    expect(a.received[0]!.data.toString()).toBe('b to a');
    // The listener port on the same address stays closed.
    await expect(a.channelBind(0x4001, { family: 4, address: '127.0.0.1', port })).rejects.toMatchObject({
      code: 403,
    });
  });

  it('answers 438 with a fresh nonce once the nonce is older than its lifetime', async () => {
    const a = await open();
    await a.allocate((b) => b.addRequestedTransport(17).addUint32(Attr.LIFETIME, 3600));
    expect(a.lifetime).toBe(3600);
    clock += 601_000;
    const e = await a.request(Method.REFRESH, () => {}, { reauthenticate: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TurnError);
    expect((e as TurnError).code).toBe(438);
    expect((e as TurnError).response.get(Attr.NONCE)).toBeDefined();
    // With the fresh nonce the same allocation refreshes; lifetimes are capped at 3600 s.
    expect(await a.refresh(7200)).toBe(3600);
    expect(rt.daemon.allocationCount()).toBe(1);
  });
});

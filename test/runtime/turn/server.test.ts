/**
 * The TURN server in process, over real loopback sockets with our codec-based client: the auth
 * flow, Allocate options and errors, Refresh, permissions, channels, Send/Data, the perimeter,
 * quotas, retransmissions, draining and hot reconfiguration.
 */
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../contract/config/index.js';
import {
  Attr,
  decodeErrorCode,
  decodeString,
  isParseError,
  MessageClass,
  Method,
  newTransactionId,
  parseStunMessage,
  StunMessageBuilder,
} from '../../../runtime/stun/index.js';
import { freePort } from '../../helpers/net.js';
import { type InProcessStunnerd, startStunnerdInProcess } from '../../helpers/stunnerd.js';
import { type ClientOptions, TurnClient, TurnError, UdpPeer } from '../../helpers/turn-client.js';
import { sleep, until } from '../../helpers/wait.js';

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

async function expectTurnError(p: Promise<unknown>, code: number): Promise<TurnError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TurnError);
    expect((e as TurnError).code).toBe(code);
    return e as TurnError;
  }
  throw new Error(`expected TURN error ${code}, got success`);
}

describe('TURN server (in process)', () => {
  let rt: InProcessStunnerd;
  let port: number;
  let config: Record<string, unknown>;
  const clients: TurnClient[] = [];
  const peers: UdpPeer[] = [];

  const client = async (over: Partial<ClientOptions> = {}) => {
    const c = await TurnClient.open({
      host: '127.0.0.1',
      port,
      username: 'user1',
      password: 'pass1',
      ...over,
    });
    clients.push(c);
    return c;
  };
  const peer = async (echo = true) => {
    const p = await UdpPeer.open(echo);
    peers.push(p);
    return p;
  };

  beforeEach(async () => {
    port = await freePort();
    config = {
      version: 'v1',
      admin: { name: 'test', loglevel: 'all:INFO', user_quota: 3, healthcheck_endpoint: '' },
      auth: { type: 'static', realm: 'test.realm', credentials: { username: 'user1', password: 'pass1' } },
      listeners: [
        { name: 'udp', protocol: 'TURN-UDP', address: '127.0.0.1', port, routes: ['loopback'] },
        { name: 'tcp', protocol: 'TURN-TCP', address: '127.0.0.1', port, routes: ['loopback'] },
      ],
      clusters: [{ name: 'loopback', type: 'STATIC', endpoints: ['127.0.0.0/8'] }],
    };
    rt = await startStunnerdInProcess(config);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of peers.splice(0)) p.close();
    await rt.stop();
  });

  it('answers Binding with XOR-MAPPED-ADDRESS, unauthenticated', async () => {
    const c = await client();
    const txid = newTransactionId();
    const res = await c.transact(
      new StunMessageBuilder(Method.BINDING, MessageClass.REQUEST, txid).build(),
      txid,
    );
    expect(res.cls).toBe(MessageClass.SUCCESS);
    const { decodeXorAddress } = await import('../../../runtime/stun/index.js');
    const mapped = decodeXorAddress(res, res.get(Attr.XOR_MAPPED_ADDRESS)!);
    expect(mapped).toEqual({ family: 4, address: '127.0.0.1', port: c.localPort });
  });

  it('challenges with a minimal 401 (REALM + NONCE only, no larger than needed)', async () => {
    const c = await client();
    const txid = newTransactionId();
    const req = new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, txid)
      .addRequestedTransport(17)
      .build();
    const res = await c.transact(req, txid);
    expect(res.cls).toBe(MessageClass.ERROR);
    expect(decodeErrorCode(res, res.get(Attr.ERROR_CODE)!)?.code).toBe(401);
    expect(decodeString(res, res.get(Attr.REALM)!)).toBe('test.realm');
    expect(res.get(Attr.NONCE)).toBeDefined();
    expect(res.attributes.map((a) => a.type)).toEqual([Attr.ERROR_CODE, Attr.REALM, Attr.NONCE]);
    expect(res.length).toBeLessThanOrEqual(20 + 8 + 4 + 12 + 4 + 36);
    expect(rt.daemon.allocationCount()).toBe(0);
  });

  it('relays over a channel and with Send/Data, and counts the traffic', async () => {
    const c = await client();
    const p = await peer();
    const relayed = await c.allocate();
    expect(relayed.address).toBe('127.0.0.1');
    expect(c.lifetime).toBe(600);
    await c.createPermission(p.address);
    c.send(p.address, Buffer.from('hello via send'));
    await p.waitGot(1);
    expect(p.got[0]!.data.toString()).toBe('hello via send');
    expect(p.got[0]!.from.port).toBe(relayed.port);
    await c.waitReceived(1);
    expect(c.received[0]!.via).toBe('data');
    expect(c.received[0]!.data.toString()).toBe('hello via send');
    expect(c.received[0]!.peer).toEqual(p.address);

    await c.channelBind(0x4001, p.address);
    c.channelData(0x4001, Buffer.from('odd-length-payload!'));
    await c.waitReceived(2);
    expect(c.received[1]!.via).toBe(0x4001);
    expect(c.received[1]!.data.toString()).toBe('odd-length-payload!');

    const ls = rt.daemon.stats.listeners.get('udp')!;
    expect(ls.rxPackets).toBeGreaterThanOrEqual(6);
    expect(ls.txPackets).toBeGreaterThanOrEqual(6);
    const cs = rt.daemon.stats.clusters.get('loopback')!;
    expect(cs.txPackets).toBe(2);
    expect(cs.rxPackets).toBe(2);
    expect(rt.daemon.stats.allocationsActive).toBe(1);
  });

  it('relays over TURN-TCP with ChannelData padding', async () => {
    const c = await client({ transport: 'tcp' });
    const p = await peer();
    await c.allocate();
    await c.channelBind(0x4abc, p.address);
    for (const n of [1, 2, 3, 4, 5]) c.channelData(0x4abc, Buffer.alloc(n, n));
    await c.waitReceived(5);
    expect(c.received.map((r) => r.data.length)).toEqual([1, 2, 3, 4, 5]);
    expect(rt.daemon.stats.listeners.get('tcp')!.connections).toBe(1);
    c.close();
    await until('the closed connection frees its allocation', () => rt.daemon.allocationCount() === 0);
    expect(rt.daemon.allocationCount()).toBe(0);
  });

  it('rejects wrong passwords (401), stale nonces (438) and other users on an allocation (441)', async () => {
    const bad = await client({ password: 'wrong' });
    await expectTurnError(bad.allocate(), 401);
    expect(rt.daemon.allocationCount()).toBe(0);

    await rt.daemon.reconfigure(
      parseConfig({
        ...config,
        auth: { type: 'static', realm: 'test.realm', credentials: { username: 'user2', password: 'pass2' } },
      }),
    );
    const c = await client({ username: 'user2', password: 'pass2' });
    await c.allocate();
    // Same 5-tuple, different (valid) user.
    c.setCredentials('user2', 'pass2');
    await rt.daemon.reconfigure(parseConfig(config));
    c.setCredentials('user1', 'pass1');
    await expectTurnError(c.refresh(), 441);

    // A nonce from another client address is not valid here: 438 with a fresh nonce.
    const other = await client();
    await other.allocate();
    const stale = other.nonce;
    c.nonce = stale;
    const e = await expectTurnError(
      c.request(Method.REFRESH, () => {}, { reauthenticate: false }),
      438,
    );
    expect(e.response.get(Attr.NONCE)).toBeDefined();
  });

  it('answers Allocate errors: 442 TCP transport, 400 missing transport, 437 twice, 420 unknown attribute', async () => {
    const c = await client();
    await expectTurnError(
      c.allocate((b) => b.addRequestedTransport(6)),
      442,
    );
    await expectTurnError(
      c.allocate(() => {}),
      400,
    );
    const e = await expectTurnError(
      c.allocate((b) => b.addRequestedTransport(17).addBuffer(0x7f01, Buffer.alloc(4))),
      420,
    );
    expect(e.response.value(Attr.UNKNOWN_ATTRIBUTES)?.readUInt16BE(0)).toBe(0x7f01);
    await c.allocate((b) =>
      b.addRequestedTransport(17).addFlag(Attr.DONT_FRAGMENT).addBuffer(0x8fff, Buffer.alloc(4)),
    );
    await expectTurnError(c.allocate(), 437);
  });

  it('handles REQUESTED-ADDRESS-FAMILY, EVEN-PORT with reservation, and unknown RESERVATION-TOKEN', async () => {
    const a = await client();
    await expectTurnError(
      a.allocate((b) => b.addRequestedTransport(17).addAddressFamily(6)),
      440,
    );
    const res = await a.request(Method.ALLOCATE, (b) =>
      b.addRequestedTransport(17).addAddressFamily(4).addEvenPort(true),
    );
    const token = res.value(Attr.RESERVATION_TOKEN);
    expect(token?.length).toBe(8);
    const { decodeXorAddress } = await import('../../../runtime/stun/index.js');
    const relayPort = decodeXorAddress(res, res.get(Attr.XOR_RELAYED_ADDRESS)!)!.port;
    expect(relayPort % 2).toBe(0);
    const b = await client();
    const relayed = await b.allocate((m) =>
      m.addRequestedTransport(17).addBuffer(Attr.RESERVATION_TOKEN, token!),
    );
    expect(relayed.port).toBe(relayPort + 1);
    const c = await client();
    await expectTurnError(
      c.allocate((m) => m.addRequestedTransport(17).addBuffer(Attr.RESERVATION_TOKEN, Buffer.alloc(8, 7))),
      508,
    );
  });

  it('answers a retransmitted request with the same bytes', async () => {
    const c = await client();
    await c.allocate();
    const p = await peer();
    const txid = newTransactionId();
    const b = new StunMessageBuilder(Method.CREATE_PERMISSION, MessageClass.REQUEST, txid)
      .addXorAddress(Attr.XOR_PEER_ADDRESS, p.address)
      .addString(Attr.USERNAME, 'user1')
      .addString(Attr.REALM, 'test.realm')
      .addString(Attr.NONCE, c.nonce!);
    const { longTermKey } = await import('../../../runtime/stun/index.js');
    const req = b.build({ integrityKey: longTermKey('user1', 'test.realm', 'pass1') });
    const n = c.responses.length;
    await c.transact(req, txid);
    c.sendRaw(req);
    await until('the retransmission answered', () => c.responses.length >= n + 2);
    expect(c.responses.length).toBe(n + 2);
    expect(c.responses[n + 1]!.equals(c.responses[n]!)).toBe(true);
  });

  it('Refresh(0) frees the allocation and its relay socket: fds back to baseline', async () => {
    const base = fdCount();
    const cs = [await client(), await client(), await client()];
    for (const c of cs) await c.allocate();
    expect(rt.daemon.allocationCount()).toBe(3);
    expect(fdCount()).toBeGreaterThanOrEqual(base + 3);
    for (const c of cs) expect(await c.refresh(0)).toBe(0);
    expect(rt.daemon.allocationCount()).toBe(0);
    for (const c of cs.splice(0)) c.close();
    clients.length = 0;
    await until('fds back to baseline', () => fdCount() <= base);
    expect(fdCount()).toBeLessThanOrEqual(base);
    const again = await client();
    await expectTurnError(again.refresh(0), 437);
  });

  it('enforces the perimeter: 403 and a log line outside the routed clusters', async () => {
    const c = await client();
    await c.allocate();
    await expectTurnError(c.createPermission({ family: 4, address: '10.1.2.3', port: 5000 }), 403);
    await expectTurnError(c.channelBind(0x4002, { family: 4, address: '0.0.0.1', port: 5000 }), 403);
    await expectTurnError(c.createPermission({ family: 4, address: '224.0.0.5', port: 5000 }), 403);
    // The gateway's own listener port stays closed even though 127.0.0.0/8 is routed.
    await expectTurnError(c.channelBind(0x4003, { family: 4, address: '127.0.0.1', port }), 403);
    expect(rt.lines.some((l) => /permission denied .*10\.1\.2\.3.*no route to endpoint/.test(l))).toBe(true);
  });

  it('applies routes in place on reconfigure: existing allocations survive, denied peers stop relaying', async () => {
    const c = await client();
    const p = await peer();
    await c.allocate();
    await c.channelBind(0x4010, p.address);
    c.channelData(0x4010, Buffer.from('one'));
    await c.waitReceived(1);
    await rt.daemon.reconfigure(
      parseConfig({ ...config, clusters: [{ name: 'loopback', type: 'STATIC', endpoints: ['10.0.0.0/8'] }] }),
    );
    expect(rt.daemon.allocationCount()).toBe(1);
    c.channelData(0x4010, Buffer.from('two'));
    // a negative check: time for 'two' to arrive, which the new routes must stop
    await sleep(150);
    expect(p.got.length).toBe(1);
    await expectTurnError(c.createPermission(p.address), 403);
    await rt.daemon.reconfigure(parseConfig(config));
    await c.channelBind(0x4010, p.address);
    c.channelData(0x4010, Buffer.from('three'));
    await c.waitReceived(2);
    expect(rt.daemon.allocationCount()).toBe(1);
  });

  it('restarts only a listener whose socket changed', async () => {
    const u = await client();
    const t = await client({ transport: 'tcp' });
    await u.allocate();
    await t.allocate();
    const newPort = await freePort();
    const next = structuredClone(config) as { listeners: { port: number }[] };
    next.listeners[1]!.port = newPort;
    await rt.daemon.reconfigure(parseConfig(next));
    expect(rt.daemon.allocationCount()).toBe(1);
    expect(await u.refresh()).toBe(600);
    const t2 = await client({ transport: 'tcp', port: newPort });
    await t2.allocate();
  });

  it('enforces user_quota (486) and the global cap (508)', async () => {
    const cs = [await client(), await client(), await client()];
    for (const c of cs) await c.allocate();
    const fourth = await client();
    await expectTurnError(fourth.allocate(), 486);
    await rt.daemon.reconfigure(
      parseConfig({
        ...config,
        admin: { ...(config['admin'] as object), user_quota: 0, max_allocations: 3 },
      }),
    );
    await expectTurnError(fourth.allocate(), 508);
    await cs[0]!.refresh(0);
    await fourth.allocate();
  });

  it('drain() refuses new allocations while existing ones keep relaying', async () => {
    const c = await client();
    const p = await peer();
    await c.allocate();
    await c.channelBind(0x4020, p.address);
    rt.daemon.drain();
    expect((rt.daemon.status() as { status: string }).status).toBe('TERMINATING');
    const late = await client();
    const e = await expectTurnError(late.allocate(), 508);
    expect(decodeErrorCode(e.response, e.response.get(Attr.ERROR_CODE)!)?.reason).toMatch(/drain/i);
    c.channelData(0x4020, Buffer.from('still relaying'));
    await c.waitReceived(1);
    expect(await c.refresh()).toBe(600);
  });

  it('status() describes listeners, clusters and allocations', async () => {
    rt.daemon.setDynamicEndpoints('loopback', ['10.9.9.9']);
    const s = rt.daemon.status() as Record<string, unknown>;
    expect(s['status']).toBe('READY');
    expect(s['allocationCount']).toBe(0);
    expect((s['listeners'] as { name: string }[]).map((l) => l.name)).toEqual(['udp', 'tcp']);
    expect(s['clusters']).toEqual([
      { name: 'loopback', type: 'STATIC', endpoints: ['127.0.0.0/8'], resolved: [], dynamic: ['10.9.9.9'] },
    ]);
  });

  it('uses dynamic endpoints for permission checks', async () => {
    const c = await client();
    await c.allocate();
    await expectTurnError(c.createPermission({ family: 4, address: '10.9.9.9', port: 1 }), 403);
    rt.daemon.setDynamicEndpoints('loopback', ['10.9.9.9']);
    await c.createPermission({ family: 4, address: '10.9.9.9', port: 1 });
    rt.daemon.setDynamicEndpoints('loopback', undefined);
    await expectTurnError(c.createPermission({ family: 4, address: '10.9.9.9', port: 1 }), 403);
  });

  it('drops responses-as-requests and bad fingerprints without answering', async () => {
    const c = await client();
    const txid = newTransactionId();
    const good = new StunMessageBuilder(Method.BINDING, MessageClass.REQUEST, txid).build({
      fingerprint: true,
    });
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 0xff;
    const n = c.responses.length;
    c.sendRaw(bad);
    c.sendRaw(new StunMessageBuilder(Method.BINDING, MessageClass.SUCCESS, newTransactionId()).build());
    // a negative check: time for an answer, which must not come
    await sleep(100);
    expect(c.responses.length).toBe(n);
    const res = await c.transact(good, txid);
    expect(res.get(Attr.FINGERPRINT)).toBeDefined();
    expect(isParseError(parseStunMessage(c.responses.at(-1)!))).toBe(false);
  });

  it('refuses peer port 0 and keeps serving after Send indications to it', async () => {
    const c = await client();
    const p = await peer();
    await c.allocate();
    await c.createPermission(p.address);
    c.send({ family: 4, address: '127.0.0.1', port: 0 }, Buffer.from('nowhere'));
    await expectTurnError(c.channelBind(0x4030, { family: 4, address: '127.0.0.1', port: 0 }), 400);
    c.send(p.address, Buffer.from('still fine'));
    await c.waitReceived(1);
    expect(c.received[0]!.data.toString()).toBe('still fine');
  });

  it('lets a TCP client allocate again after its allocation was refreshed away', async () => {
    const c = await client({ transport: 'tcp' });
    await c.allocate();
    expect(await c.refresh(0)).toBe(0);
    await c.allocate();
    expect(rt.daemon.allocationCount()).toBe(1);
  });

  it('restarts every listener when the realm changes, and applies log levels in place', async () => {
    const c = await client();
    await c.allocate();
    const next = structuredClone(config) as Record<string, Record<string, unknown>>;
    next['admin']!['loglevel'] = 'all:WARN,turn:DEBUG';
    await rt.daemon.reconfigure(parseConfig(next));
    expect(rt.logger.scope('turn').level).toBe(4);
    expect(rt.logger.scope('stunnerd').level).toBe(2);
    expect(rt.daemon.allocationCount()).toBe(1);
    next['auth']!['realm'] = 'other.realm';
    await rt.daemon.reconfigure(parseConfig(next));
    expect(rt.daemon.allocationCount()).toBe(0);
    const fresh = await client();
    await fresh.allocate();
    expect(fresh.realm).toBe('other.realm');
  });

  it('keeps the previous socket when a restarted listener cannot bind its new port', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    const taken = await freePort();
    await new Promise<void>((r) => blocker.listen(taken, '127.0.0.1', r));
    try {
      const next = structuredClone(config) as { listeners: { port: number }[] };
      next.listeners[1]!.port = taken;
      await expect(rt.daemon.reconfigure(parseConfig(next))).rejects.toThrow(/listener tcp: cannot bind/);
      expect(rt.daemon.listenerPort('tcp')).toBe(port);
      const t = await client({ transport: 'tcp' });
      await t.allocate();
    } finally {
      blocker.close();
    }
  });
});

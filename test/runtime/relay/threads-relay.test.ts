/**
 * admin.threads on the Node.js release the gateway pods run (the pod image's tag, 22.12.0: dgram
 * honours reusePort there, unlike this machine's Node 20), with the runtime bundle that ships in
 * the manifests. Two relay threads share the TURN-UDP port; the kernel hashes each client's
 * 4-tuple to one of them. A client's thread shows in its relay port: each thread relays from its
 * own half of the range, so the tests can aim at both threads, and at one thread from the other.
 *
 * The pods' Node comes from the npm registry (package node@22.12.0); if it cannot be installed,
 * these tests fail: they are not skipped.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePodNode, POD_NODE, POD_NODE_VERSION } from '../../../bench/pod-node.js';
import { bundleRuntime } from '../../../build/runtime-bundle.js';
import { RUNTIME_NODE_FLAGS } from '../../../contract/pod-layout.js';
import { Attr, decodeXorAddress, Method } from '../../../runtime/stun/index.js';
import { freePort, freeTcpPort, httpGet } from '../../helpers/net.js';
import { type StunnerdProcess, startStunnerd } from '../../helpers/stunnerd.js';
import { TurnClient, TurnError, UdpPeer } from '../../helpers/turn-client.js';
import { peerPorts, runUclient, startPeer } from '../../helpers/uclient.js';
import { sleep, until } from '../../helpers/wait.js';

const USER = 'user';
const PASS = 'threads-secret';
const CHANNEL = 0x4001;
/** Relay range: thread 0 relays from [BASE, BASE+99], thread 1 from [BASE+100, BASE+199]. */
const BASE = 20_000 + 200 * randomInt(0, 50);
const HALF = 100;

function config(port: number, healthPort: number, routes: string[] = ['peers']): object {
  return {
    version: 'v1',
    admin: { name: 'threads', threads: 2, healthcheck_endpoint: `http://127.0.0.1:${healthPort}` },
    auth: { type: 'static', realm: 'threads', credentials: { username: USER, password: PASS } },
    listeners: [
      {
        name: 'udp',
        protocol: 'TURN-UDP',
        address: '127.0.0.1',
        port,
        min_relay_port: BASE,
        max_relay_port: BASE + 2 * HALF - 1,
        routes,
      },
    ],
    clusters: [{ name: 'peers', type: 'STATIC', endpoints: ['127.0.0.1'] }],
  };
}

/** The relay thread a relay port belongs to (from the slices of the range). */
function threadOf(relayPort: number): 0 | 1 {
  expect(relayPort).toBeGreaterThanOrEqual(BASE);
  expect(relayPort).toBeLessThan(BASE + 2 * HALF);
  return relayPort < BASE + HALF ? 0 : 1;
}

describe(`relay threads on the pods' Node (${POD_NODE_VERSION})`, () => {
  let dir: string;
  let rt: StunnerdProcess;
  let port: number;
  let healthPort: number;
  let peer: UdpPeer;
  const clients: TurnClient[] = [];

  const open = async (): Promise<TurnClient> => {
    const c = await TurnClient.open({ host: '127.0.0.1', port, username: USER, password: PASS });
    clients.push(c);
    return c;
  };
  /** A fresh client, its thread learnt from a throwaway allocation (released again at once). */
  const probe = async (): Promise<{ c: TurnClient; thread: 0 | 1 }> => {
    const c = await open();
    const thread = threadOf((await c.allocate()).port);
    await c.refresh(0);
    return { c, thread };
  };
  /** Fresh clients until there is one on each thread (bounded: 40 tries, p(fail) ~ 2^-39). */
  const probeBoth = async (): Promise<[TurnClient, TurnClient]> => {
    const on: (TurnClient | undefined)[] = [undefined, undefined];
    for (let i = 0; i < 40 && (!on[0] || !on[1]); i++) {
      const { c, thread } = await probe();
      on[thread] ??= c;
    }
    expect(on[0], 'a client flow on thread 0').toBeDefined();
    expect(on[1], 'a client flow on thread 1').toBeDefined();
    return [on[0]!, on[1]!];
  };
  const status = async (): Promise<{ threads: number; allocationCount: number; status: string }> =>
    (await httpGet(healthPort, '/status')).json() as never;

  beforeAll(async () => {
    const why = ensurePodNode();
    if (why) throw new Error(`the pods' Node.js is needed for relay threads: ${why}`);
    dir = mkdtempSync(join(tmpdir(), 'threads-'));
    writeFileSync(join(dir, 'stunnerd.mjs'), bundleRuntime().js);
    port = await freePort();
    healthPort = await freeTcpPort();
    peer = await UdpPeer.open(true);
    rt = await startThreaded(port, healthPort);
    // Every test reads a client's thread from its relay port: that holds only with two threads.
    const threads = (await status()).threads;
    if (threads !== 2)
      throw new Error(`expected 2 relay threads, the runtime runs ${threads}:\n${rt.output()}`);
  }, 240_000);

  /** The shipped bundle on the pods' Node, with the pods' Node flags. */
  const startThreaded = (p: number, hp: number): Promise<StunnerdProcess> =>
    startStunnerd(config(p, hp), {
      launcher: [POD_NODE, ...RUNTIME_NODE_FLAGS, join(dir, 'stunnerd.mjs')],
      logLevel: 'all:INFO',
      args: ['--grace-period', '20'],
    });

  afterAll(async () => {
    for (const c of clients) c.close();
    peer?.close();
    await rt?.stop('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs two relay threads on one port, with the UDP module on each', async () => {
    expect(rt.output()).toContain('relaying on 2 threads (reusePort)');
    expect(rt.output()).not.toContain('relaying on 1 thread');
    expect(rt.output()).toContain('UDP batch I/O on');
    expect((await status()).threads).toBe(2);
  });

  it('spreads client flows over both threads; each relays ChannelData from its own slice', async () => {
    const mine: TurnClient[] = [];
    for (let i = 0; i < 16; i++) mine.push(await open());
    const threads = new Set<number>();
    for (const c of mine) threads.add(threadOf((await c.allocate()).port));
    // 16 flows all hashed to one thread: p = 2^-15
    expect([...threads].sort()).toEqual([0, 1]);
    for (const c of mine) {
      await c.createPermission(peer.address);
      await c.channelBind(CHANNEL, peer.address);
      for (let k = 0; k < 5; k++) c.channelData(CHANNEL, Buffer.from(`ping ${c.localPort} ${k}`));
    }
    for (const c of mine) {
      await c.waitReceived(5);
      expect(c.payloads(CHANNEL).map(String).sort()).toEqual(
        [0, 1, 2, 3, 4].map((k) => `ping ${c.localPort} ${k}`),
      );
    }
    // The peer saw each client's datagrams from that client's relay address.
    const relays = new Set(mine.map((c) => c.relayed!.port));
    expect(new Set(peer.got.map((g) => g.from.port))).toEqual(relays);
    // /status counts the allocations of both threads (workers report about once a second).
    await until('/status counts 16 allocations', async () => (await status()).allocationCount === 16, 5000);
    for (const c of mine) await c.refresh(0);
    await until('/status back to 0', async () => (await status()).allocationCount === 0, 5000);
  });

  it('hands an EVEN-PORT reservation from one thread to an allocation on the other', async () => {
    const [on0, on1] = await probeBoth();
    for (const [holder, taker] of [
      [on0, on1],
      [on1, on0],
    ] as const) {
      const res = await holder.request(Method.ALLOCATE, (b) => b.addRequestedTransport(17).addEvenPort(true));
      const token = res.value(Attr.RESERVATION_TOKEN);
      expect(token?.length, 'RESERVATION-TOKEN').toBe(8);
      const even = decodeXorAddress(res, res.get(Attr.XOR_RELAYED_ADDRESS)!)!.port;
      expect(even % 2).toBe(0);
      // the taker's flow is on the other thread, which claims the reserved port from the holder's
      const odd = await taker.allocate((b) =>
        b.addRequestedTransport(17).addBuffer(Attr.RESERVATION_TOKEN, token!),
      );
      expect(odd.port).toBe(even + 1);
      expect(threadOf(odd.port)).toBe(threadOf(even));
      // and relays from it
      await taker.createPermission(peer.address);
      taker.send(peer.address, Buffer.from('from the odd port'));
      await until('the peer hears the taker from the reserved port', () =>
        peer.got.some((g) => g.from.port === even + 1 && String(g.data) === 'from the odd port'),
      );
      await holder.refresh(0);
      await taker.refresh(0);
    }
  });

  it('relays coturn uclient sessions (RTP/RTCP pairs through EVEN-PORT reservations) at 0 loss', async () => {
    // its own runtime: uclient leaves its allocations to expire, which would hold up the drain test
    const own = await freePort();
    const other = await startThreaded(own, await freeTcpPort());
    const peerPort = await peerPorts();
    const p = await startPeer(peerPort);
    try {
      const r = await runUclient([
        ...['-u', USER, '-w', PASS, '-p', String(own), '-e', '127.0.0.1', '-r', String(peerPort)],
        ...['-n', '30', '-m', '10', '-l', '172', '-z', '5', '127.0.0.1'],
      ]);
      expect(r.output).toMatch(/Total lost packets 0 \(0\.0+%\)/);
      // 10 clients x 30 messages, RTP and RTCP each
      expect(r.sent).toBeGreaterThanOrEqual(300);
      expect(r.received).toBe(r.sent);
      expect(r.code).toBe(0);
    } finally {
      p.stop();
      await other.stop('SIGKILL');
    }
  }, 60_000);

  it('applies a config reload on every thread, and the reverse', async () => {
    const [on0, on1] = await probeBoth();
    // What CreatePermission to the peer gets from a fresh allocation on c's thread: 'ok' or the code.
    const permission = async (c: TurnClient): Promise<'ok' | number> => {
      await c.allocate();
      const got = await c.createPermission(peer.address).then(
        () => 'ok' as const,
        (e: unknown) => (e instanceof TurnError ? e.code : -1),
      );
      await c.refresh(0);
      return got;
    };
    for (const [routes, want] of [
      [[], 403],
      [['peers'], 'ok'],
    ] as const) {
      writeFileSync(rt.configPath, JSON.stringify(config(port, healthPort, [...routes])));
      for (const c of [on0, on1]) {
        await until(
          `CreatePermission ${want} on this thread after the reload`,
          async () => (await permission(c)) === want,
          5000,
        );
      }
    }
  });

  it('drains on SIGTERM on every thread: new allocations refused, live ones relay, exit 0 when they end', async () => {
    const [on0, on1] = await probeBoth();
    const live: TurnClient[] = [];
    for (const c of [on0, on1]) {
      await c.allocate();
      await c.createPermission(peer.address);
      await c.channelBind(CHANNEL, peer.address);
      live.push(c);
    }
    // fresh 5-tuples known to land on each thread, kept unallocated for after SIGTERM
    const [idle0, idle1] = await probeBoth();
    rt.proc.kill('SIGTERM');
    await until('/status says TERMINATING', async () => (await status()).status === 'TERMINATING', 3000);
    for (const c of [idle0, idle1]) {
      const err = await c.allocate().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'Allocate while draining').toBeInstanceOf(TurnError);
      expect((err as TurnError).code).toBe(508);
    }
    for (const c of live) {
      const before = c.count(CHANNEL);
      c.channelData(CHANNEL, Buffer.from('still relaying'));
      await c.waitReceived(before + 1);
    }
    for (const c of live) await c.refresh(0);
    expect(await Promise.race([rt.exited(), sleep(8000).then(() => 'still running')])).toBe(0);
  });
});

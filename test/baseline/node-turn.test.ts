/**
 * Why the relay is our own (docs/why-our-own-relay.md): the same probes against node-turn 0.0.6,
 * started exactly as the benchmark starts it (bench/servers.ts), and against our runtime with the
 * benchmark's config, both on loopback. Each probe reports what really happened on the wire; the
 * two servers are expected to give different reports:
 *  (a) ChannelData from a client after a successful ChannelBind: node-turn never relays it (every
 *      datagram whose first two bits are not 00 is dropped by Message.read before any TURN logic),
 *      though it does send ChannelData to the client the other way; Send indications pass.
 *  (b) Refresh with a non-zero LIFETIME, or none: node-turn answers success (LIFETIME 0), then
 *      removes the allocation (refresh.js reads server.defaultLifetime / server.maxAllocateTimeout,
 *      which do not exist, so the lifetime is NaN or undefined and Allocation.update arms the expiry
 *      timer with a NaN delay, which Node runs after 1 ms); its relay socket stays open.
 *  (c) Credentials: node-turn looks passwords up in a plain object, so inherited property names
 *      (`__proto__`, `constructor`, ...) are users whose "password" is the inherited value turned
 *      into a string; an Allocate signed with that key succeeds.
 * Found on the way: one datagram shorter than 4 bytes from a permitted peer to a relayed address
 * ends the node-turn process (ChannelMsg.read reads past the end, outside any try/catch).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeTurn, ourConfig, PASS, type ServerHandle, USER } from '../../bench/servers.js';
import { freeUdpPort } from '../helpers/net.js';
import { type StunnerdProcess, startStunnerd } from '../helpers/stunnerd.js';
import { TurnClient, TurnError, TurnUnreachableError, UdpPeer } from '../helpers/turn-client.js';
import { sleep, until } from '../helpers/wait.js';

/** How long a datagram that should not arrive is given to arrive anyway. */
const QUIET_MS = 500;
const CHANNEL = 0x4000;

/** Usernames that are not configured, with the string node-turn turns their inherited "password" into. */
const INHERITED: readonly (readonly [string, string])[] = [
  ['__proto__', '[object Object]'],
  ['constructor', 'function Object() { [native code] }'],
  ['hasOwnProperty', 'function hasOwnProperty() { [native code] }'],
  ['toString', 'function toString() { [native code] }'],
  ['valueOf', 'function valueOf() { [native code] }'],
];

/** The Refreshes probed: a non-zero LIFETIME, and none (the server's default applies). */
const REFRESHES = [
  { lifetime: 600, label: '600' },
  { lifetime: undefined, label: 'absent' },
];

function client(port: number, username = USER, password = PASS): Promise<TurnClient> {
  return TurnClient.open({ host: '127.0.0.1', port, username, password, timeoutMs: 2000 });
}

/** 'ok', the error code the server answered with, or 'no answer' (the client's bounded wait ran out). */
async function outcome(f: () => Promise<unknown>): Promise<'ok' | number | 'no answer'> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    if (e instanceof TurnError) return e.code;
    if (e instanceof TurnUnreachableError) return 'no answer';
    throw e;
  }
}

/** Waits for `cond` at most `ms`; false if it never held (a bounded "did it happen?"). */
async function within(ms: number, cond: () => boolean): Promise<boolean> {
  try {
    await until('probe', cond, ms);
    return true;
  } catch {
    return false;
  }
}

const texts = (peer: UdpPeer): string[] => peer.got.map((g) => g.data.toString()).sort();

interface ChannelReport {
  /** The ChannelBind answer. */
  readonly bind: Awaited<ReturnType<typeof outcome>>;
  /** What the peer received, sorted: 'channel-data' and/or 'send-indication'. */
  readonly peerGot: string[];
  /** Whether every datagram the peer got came from the client's relayed address. */
  readonly fromRelay: boolean;
  /** How the client received a datagram the peer sent to the relayed address (channel number or 'data'). */
  readonly clientGotVia: (number | 'data')[];
}

/** (a) Allocate, ChannelBind to a peer, then ChannelData and a Send indication to it, then peer -> client. */
async function channelProbe(port: number): Promise<ChannelReport> {
  const peer = await UdpPeer.open(false);
  const c = await client(port);
  try {
    const relayed = await c.allocate();
    const bind = await outcome(() => c.channelBind(CHANNEL, peer.address));
    c.channelData(CHANNEL, Buffer.from('channel-data'));
    await sleep(50);
    c.send(peer.address, Buffer.from('send-indication'));
    await within(2000, () => peer.got.length >= 2);
    await sleep(QUIET_MS);
    const fromRelay = peer.got.every((g) => g.from.port === relayed.port);
    peer.sendTo(relayed, Buffer.from('to-client'));
    await within(2000, () => c.received.length >= 1);
    return { bind, peerGot: texts(peer), fromRelay, clientGotVia: c.received.map((r) => r.via) };
  } finally {
    c.close();
    peer.close();
  }
}

interface RefreshReport {
  /** The first Refresh's answer: its LIFETIME, or the error code. */
  readonly refresh: { lifetime: number } | number;
  /** Answers 200 ms later, on the same 5-tuple. */
  readonly permissionAfter: Awaited<ReturnType<typeof outcome>>;
  readonly refreshAfter: Awaited<ReturnType<typeof outcome>>;
  /** What the peer got from a Send indication sent after that. */
  readonly peerGotAfter: string[];
  /** Whether a datagram from the peer to the relayed address still reached the client. */
  readonly relayStillDelivers: boolean;
}

/**
 * (b) Allocate, permission for a peer (so the allocation demonstrably works), Refresh(lifetime) or a
 * Refresh without LIFETIME, then see whether the allocation still works.
 */
async function refreshProbe(port: number, lifetime: number | undefined): Promise<RefreshReport> {
  const peer = await UdpPeer.open(false);
  const c = await client(port);
  try {
    const relayed = await c.allocate();
    await c.createPermission(peer.address);
    let refresh: RefreshReport['refresh'];
    try {
      refresh = { lifetime: await c.refresh(lifetime) };
    } catch (e) {
      if (!(e instanceof TurnError)) throw e;
      refresh = e.code;
    }
    await sleep(200);
    const permissionAfter = await outcome(() => c.createPermission(peer.address));
    const refreshAfter = await outcome(() => c.refresh(lifetime));
    c.send(peer.address, Buffer.from('after-refresh'));
    await within(QUIET_MS, () => peer.got.length >= 1);
    peer.sendTo(relayed, Buffer.from('to-client'));
    const relayStillDelivers = await within(1000, () => c.received.length >= 1);
    return { refresh, permissionAfter, refreshAfter, peerGotAfter: texts(peer), relayStillDelivers };
  } finally {
    c.close();
    peer.close();
  }
}

/** (c) A full Allocate as `username`/`password`: 'ok' (relayed address granted) or the error code. */
function allocateAs(port: number, username: string, password: string): ReturnType<typeof outcome> {
  return outcome(async () => {
    const c = await client(port, username, password);
    try {
      await c.allocate();
    } finally {
      c.close();
    }
  });
}

interface TinyDatagramReport {
  /** Whether the server process was still running 300 ms after the datagram. */
  readonly alive: boolean;
  /** A Send indication from the same client afterwards reached the peer. */
  readonly relaysAfter: boolean;
  /** A fresh client's Allocate afterwards. */
  readonly allocateAfter: Awaited<ReturnType<typeof outcome>>;
}

/** A permitted peer sends a 1-byte datagram to the client's relayed address. */
async function tinyDatagramProbe(port: number, alive: () => boolean): Promise<TinyDatagramReport> {
  const peer = await UdpPeer.open(false);
  const c = await client(port);
  try {
    const relayed = await c.allocate();
    await c.createPermission(peer.address);
    peer.sendTo(relayed, Buffer.from([0x40]));
    await sleep(300);
    const stillAlive = alive();
    c.send(peer.address, Buffer.from('after-tiny'));
    const relaysAfter = await within(QUIET_MS, () => peer.got.length >= 1);
    return { alive: stillAlive, relaysAfter, allocateAfter: await allocateAs(port, USER, PASS) };
  } finally {
    c.close();
    peer.close();
  }
}

describe('node-turn 0.0.6 (the benchmark baseline, as bench/servers.ts starts it)', () => {
  let server: ServerHandle;
  let port: number;

  beforeAll(async () => {
    port = await freeUdpPort();
    server = await nodeTurn.start(port, '');
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('(a) drops ChannelData from the client after a successful ChannelBind; Send indications are relayed', async () => {
    const r = await channelProbe(port);
    expect(r.bind).toBe('ok');
    expect(r.peerGot).toEqual(['send-indication']);
    expect(r.fromRelay).toBe(true);
    // The binding exists on the server: the peer's datagram comes back to the client as ChannelData.
    expect(r.clientGotVia).toEqual([CHANNEL]);
  });

  it.each(REFRESHES)(
    '(b) a Refresh with LIFETIME $label is answered with success, then the allocation is gone',
    async ({ lifetime }) => {
      const r = await refreshProbe(port, lifetime);
      // The lifetime is NaN (600) or undefined inside node-turn; Buffer.writeUIntBE encodes it as 0.
      expect(r.refresh).toEqual({ lifetime: 0 });
      expect(r.permissionAfter).toBe(437); // Allocation Mismatch: no allocation for this 5-tuple
      expect(r.refreshAfter).toBe(437);
      expect(r.peerGotAfter).toEqual([]); // the Send indication is discarded
      // ...while the relay socket was never closed: it still forwards peer datagrams to the client.
      expect(r.relayStillDelivers).toBe(true);
    },
  );

  it('(c) accepts usernames that are not configured but inherited by its credentials object', async () => {
    for (const [username, password] of INHERITED) {
      expect(await allocateAs(port, username, password), username).toBe('ok');
    }
    // Controls: it is the inherited value that is the key, not a skipped check.
    expect(await allocateAs(port, 'constructor', PASS)).toBe(401);
    expect(await allocateAs(port, 'mallory', '[object Object]')).toBe(401);
    expect(await allocateAs(port, USER, PASS)).toBe('ok');
    // Nothing threw far enough to stop the server.
    expect(server.proc.exitCode).toBeNull();
  });

  it('(found on the way) a 1-byte datagram from a permitted peer ends the whole process', async () => {
    // A server of its own: this probe stops it.
    const own = await nodeTurn.start(await freeUdpPort(), '');
    try {
      const r = await tinyDatagramProbe(own.port, () => own.proc.exitCode === null);
      expect(r).toEqual({ alive: false, relaysAfter: false, allocateAfter: 'no answer' });
      expect(own.proc.exitCode).toBe(1);
      expect(own.output()).toContain('ERR_BUFFER_OUT_OF_BOUNDS');
      expect(own.output()).toContain('channelMessage.js');
    } finally {
      await own.stop();
    }
  });
});

describe('our runtime, same probes (the benchmark config, bench/servers.ts ourConfig)', () => {
  let rt: StunnerdProcess;
  let port: number;

  beforeAll(async () => {
    port = await freeUdpPort();
    rt = await startStunnerd(ourConfig(port));
  });

  afterAll(async () => {
    await rt?.stop();
  });

  it('(a) relays ChannelData and Send indications from the client', async () => {
    const r = await channelProbe(port);
    expect(r.bind).toBe('ok');
    expect(r.peerGot).toEqual(['channel-data', 'send-indication']);
    expect(r.fromRelay).toBe(true);
    expect(r.clientGotVia).toEqual([CHANNEL]);
  });

  it.each(REFRESHES)(
    '(b) keeps the allocation after a Refresh with LIFETIME $label',
    async ({ lifetime }) => {
      const r = await refreshProbe(port, lifetime);
      // Without LIFETIME the default (600 s in the benchmark config) applies.
      expect(r.refresh).toEqual({ lifetime: 600 });
      expect(r.permissionAfter).toBe('ok');
      expect(r.refreshAfter).toBe('ok');
      expect(r.peerGotAfter).toEqual(['after-refresh']);
      expect(r.relayStillDelivers).toBe(true);
    },
  );

  it('(c) answers 401 to the same usernames and keys', async () => {
    for (const [username, password] of INHERITED) {
      expect(await allocateAs(port, username, password), username).toBe(401);
    }
    expect(await allocateAs(port, USER, PASS)).toBe('ok');
    expect(rt.proc.exitCode).toBeNull();
  });

  it('(found on the way) survives the same 1-byte datagram and keeps relaying', async () => {
    const r = await tinyDatagramProbe(port, () => rt.proc.exitCode === null);
    expect(r).toEqual({ alive: true, relaysAfter: true, allocateAfter: 'ok' });
  });
});

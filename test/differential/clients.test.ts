/**
 * Each implementation's client against the other's server: STUNner's turncat (v1.2.1) relays
 * datagrams through our stunnerd, and our turncat through STUNner's stunnerd, to a UDP echo peer
 * on loopback. Both turncats run as child processes with a udp:// client address; an application
 * socket sends to it and waits for the echo. With the echo peer or the server stopped, no echo
 * comes back (the negative checks at the end).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort } from '../helpers/net.js';
import { type StunnerdProcess, startStunnerd } from '../helpers/stunnerd.js';
import { type GoStunnerd, startGoStunnerd, stunnerBin } from './stunner-bin.js';

const OUR_TURNCAT = fileURLToPath(new URL('../../bin/turncat.mjs', import.meta.url));

function config(name: string, port: number) {
  return {
    version: 'v1',
    admin: { name, loglevel: 'all:WARN', healthcheck_endpoint: '' },
    auth: { type: 'static', realm: 'stunner.l7mp.io', credentials: { username: 'user', password: 'pass' } },
    listeners: [{ name: `${name}/udp`, protocol: 'TURN-UDP', address: '127.0.0.1', port, routes: ['echo'] }],
    clusters: [{ name: 'echo', type: 'STATIC', endpoints: ['127.0.0.1/32'] }],
  };
}

interface Turncat {
  readonly proc: ChildProcess;
  readonly local: number;
  output(): string;
  stop(): Promise<void>;
}

async function turncat(cmd: string[], server: number, peerPort: number): Promise<Turncat> {
  const local = await freeUdpPort();
  const [bin, ...pre] = cmd;
  const proc = spawn(
    bin!,
    [
      ...pre,
      `udp://127.0.0.1:${local}`,
      `turn://user:pass@127.0.0.1:${server}`,
      `udp://127.0.0.1:${peerPort}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const add = (d: Buffer) => {
    if (out.length < 100_000) out += d.toString();
  };
  proc.stdout!.on('data', add);
  proc.stderr!.on('data', add);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    local,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGINT');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** Sends `text` to the turncat's local port every 200 ms until it comes back (true) or waitMs passes. */
async function echoThrough(local: number, text: string, waitMs: number): Promise<boolean> {
  const app = createSocket('udp4');
  await new Promise<void>((r) => app.bind(0, '127.0.0.1', r));
  try {
    return await new Promise<boolean>((resolve) => {
      const send = () => app.send(Buffer.from(text), local, '127.0.0.1');
      const timer = setInterval(send, 200);
      const deadline = setTimeout(() => {
        clearInterval(timer);
        resolve(false);
      }, waitMs);
      app.on('message', (m) => {
        if (m.toString() !== text) return;
        clearInterval(timer);
        clearTimeout(deadline);
        resolve(true);
      });
      send();
    });
  } finally {
    app.close();
  }
}

describe("each implementation's turncat through the other's stunnerd", () => {
  let peer: Socket;
  let peerPort: number;
  let ours: StunnerdProcess;
  let go: GoStunnerd;
  let ourPort: number;
  let goPort: number;
  const cats: Turncat[] = [];

  beforeAll(async () => {
    peer = createSocket('udp4');
    peer.on('message', (m, r) => peer.send(m, r.port, r.address));
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
    peerPort = peer.address().port;
    ourPort = await freeUdpPort();
    goPort = await freeUdpPort();
    ours = await startStunnerd(config('ours/gw', ourPort));
    go = await startGoStunnerd(config('stunner/gw', goPort), { host: '127.0.0.1', port: goPort });
    cats.push(await turncat([stunnerBin('turncat'), '-l', 'all:WARN'], ourPort, peerPort));
    cats.push(await turncat([process.execPath, OUR_TURNCAT], goPort, peerPort));
  }, 60_000);

  afterAll(async () => {
    for (const c of cats) await c.stop();
    await ours?.stop();
    await go?.stop();
    try {
      peer?.close();
    } catch {
      // closed by the negative check
    }
  });

  it("STUNner's turncat relays a datagram through our stunnerd to the echo peer and back", async () => {
    const ok = await echoThrough(cats[0]!.local, 'stunner turncat -> our stunnerd', 10_000);
    expect(ok, cats[0]!.output()).toBe(true);
  }, 20_000);

  it("our turncat relays a datagram through STUNner's stunnerd to the echo peer and back", async () => {
    const ok = await echoThrough(cats[1]!.local, 'our turncat -> stunner stunnerd', 10_000);
    expect(ok, cats[1]!.output()).toBe(true);
  }, 20_000);

  it('no echo comes back once the echo peer is stopped (both directions)', async () => {
    peer.close();
    expect(await echoThrough(cats[0]!.local, 'peer gone (stunner turncat)', 1500)).toBe(false);
    expect(await echoThrough(cats[1]!.local, 'peer gone (our turncat)', 1500)).toBe(false);
  }, 20_000);

  it('no echo comes back once the servers are stopped, even with the peer back', async () => {
    const back = createSocket('udp4');
    back.on('message', (m, r) => back.send(m, r.port, r.address));
    await new Promise<void>((r) => back.bind(peerPort, '127.0.0.1', r));
    try {
      // the peer answers again through the running servers ...
      expect(await echoThrough(cats[0]!.local, 'peer back (stunner turncat)', 5000)).toBe(true);
      // ... and not once the servers are gone
      await ours.stop('SIGKILL');
      await go.stop();
      expect(await echoThrough(cats[0]!.local, 'server gone (stunner turncat)', 1500)).toBe(false);
      expect(await echoThrough(cats[1]!.local, 'server gone (our turncat)', 1500)).toBe(false);
    } finally {
      back.close();
    }
  }, 30_000);
});

/**
 * SIGTERM with a live allocation, on the real `stunnerd` process: readiness goes 503, the live
 * allocation keeps relaying, new Allocates are refused with an error that sends clients elsewhere,
 * and the process exits 0 once the allocation ends (or when the grace period runs out).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, freeTcpPort } from '../helpers/net.js';
import { TurnClient, TurnError, UdpPeer } from '../helpers/turn-client.js';
import { until } from '../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../bin/stunnerd.mjs', import.meta.url));

interface Proc {
  readonly child: ChildProcess;
  readonly out: string[];
  exit: { code: number | null; signal: string | null } | undefined;
}

async function startStunnerd(configFile: string, extra: string[] = []): Promise<Proc> {
  const child = spawn(process.execPath, [BIN, '-c', configFile, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { child, out: [], exit: undefined };
  const onData = (d: Buffer) => p.out.push(...d.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.on('exit', (code, signal) => {
    p.exit = { code, signal };
  });
  await until(
    'stunnerd ready',
    () => p.out.some((l) => l.includes('stunnerd ready')) || p.exit !== undefined,
    20_000,
  );
  if (p.exit) throw new Error(`stunnerd exited early:\n${p.out.join('\n')}`);
  return p;
}

describe('SIGTERM drain', () => {
  let dir: string;
  let proc: Proc | undefined;
  let peer: UdpPeer;
  let turnPort: number;
  let healthPort: number;
  const clients: TurnClient[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stunnerd-day2-drain-'));
    turnPort = await freePort();
    healthPort = await freeTcpPort();
    peer = await UdpPeer.open();
    await writeFile(
      join(dir, 'stunnerd.yaml'),
      [
        'version: v1',
        'admin:',
        '  name: media/gw',
        `  healthcheck_endpoint: http://127.0.0.1:${healthPort}`,
        'auth:',
        '  realm: drain',
        '  credentials: {username: user, password: pass}',
        'listeners:',
        `  - {name: media/gw/udp, address: 127.0.0.1, port: ${turnPort}, routes: [media/peers]}`,
        'clusters:',
        '  - {name: media/peers, endpoints: [127.0.0.1]}',
        '',
      ].join('\n'),
    );
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    peer.close();
    if (proc && !proc.exit) proc.child.kill('SIGKILL');
    proc = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const ready = async () =>
    (await fetch(`http://127.0.0.1:${healthPort}/ready`, { signal: AbortSignal.timeout(2000) })).status;

  async function liveAllocation(): Promise<TurnClient> {
    const c = await TurnClient.open({
      host: '127.0.0.1',
      port: turnPort,
      username: 'user',
      password: 'pass',
    });
    clients.push(c);
    await c.allocate();
    await c.channelBind(0x4000, peer.address);
    return c;
  }

  async function relays(c: TurnClient): Promise<void> {
    const before = c.count(0x4000);
    for (let i = 0; i < 5; i++) c.channelData(0x4000, Buffer.from(`ping ${i}`));
    await until('echoes through the relay', () => c.count(0x4000) >= before + 5, 2000);
  }

  it('keeps relaying the live allocation, refuses new ones, exits 0 after it ends', async () => {
    proc = await startStunnerd(join(dir, 'stunnerd.yaml'), ['--grace-period', '60']);
    const p = proc;
    expect(await ready()).toBe(200);
    const c = await liveAllocation();
    await relays(c);

    p.child.kill('SIGTERM');
    await until('readiness 503', async () => (await ready()) === 503, 3000);
    const status = (await (
      await fetch(`http://127.0.0.1:${healthPort}/status`, { signal: AbortSignal.timeout(2000) })
    ).json()) as { status: string; allocationCount: number };
    expect(status).toMatchObject({ status: 'TERMINATING', allocationCount: 1 });
    await relays(c); // still relaying while draining

    const late = await TurnClient.open({
      host: '127.0.0.1',
      port: turnPort,
      username: 'user',
      password: 'pass',
    });
    clients.push(late);
    const refused = await late.allocate().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(TurnError);
    expect([300, 486, 508]).toContain((refused as TurnError).code);

    await new Promise((r) => setTimeout(r, 500));
    expect(p.exit).toBeUndefined(); // the allocation is live: no exit yet
    await relays(c);

    await c.refresh(0); // the call ends
    await until('process exit', () => p.exit !== undefined, 5000);
    expect(p.exit).toEqual({ code: 0, signal: null });
  });

  it('exits 0 when the grace period runs out with an allocation still live', async () => {
    proc = await startStunnerd(join(dir, 'stunnerd.yaml'), ['--grace-period', '1']);
    const p = proc;
    const c = await liveAllocation();
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    await relays(c);
    await until('process exit', () => p.exit !== undefined, 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(p.exit).toEqual({ code: 0, signal: null });
  });
});

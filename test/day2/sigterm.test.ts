/**
 * SIGTERM with a live allocation, on the real `stunnerd` process: readiness goes 503, the live
 * allocation keeps relaying, new Allocates are refused with an error that sends clients elsewhere,
 * and the process exits 0 once the allocation ends (or when the grace period runs out).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, freeTcpPort, httpGet } from '../helpers/net.js';
import { type StunnerdProcess, startStunnerd } from '../helpers/stunnerd.js';
import { TurnClient, TurnError, UdpPeer } from '../helpers/turn-client.js';
import { until } from '../helpers/wait.js';

const exited = (p: StunnerdProcess) => p.proc.exitCode !== null || p.proc.signalCode !== null;

describe('SIGTERM drain', () => {
  let config: string;
  let proc: StunnerdProcess | undefined;
  let peer: UdpPeer;
  let turnPort: number;
  let healthPort: number;
  const clients: TurnClient[] = [];

  beforeEach(async () => {
    turnPort = await freePort();
    healthPort = await freeTcpPort();
    peer = await UdpPeer.open();
    config = [
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
    ].join('\n');
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    peer.close();
    await proc?.stop('SIGKILL');
    proc = undefined;
  });

  const ready = async () => (await httpGet(healthPort, '/ready')).status;

  const start = (gracePeriod: string) =>
    startStunnerd(config, { args: ['--grace-period', gracePeriod], timeoutMs: 20_000 });
  const open = () =>
    TurnClient.open({ host: '127.0.0.1', port: turnPort, username: 'user', password: 'pass' });

  async function liveAllocation(): Promise<TurnClient> {
    const c = await open();
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
    proc = await start('60');
    const p = proc;
    expect(await ready()).toBe(200);
    const c = await liveAllocation();
    await relays(c);

    p.proc.kill('SIGTERM');
    await until('readiness 503', async () => (await ready()) === 503, 3000);
    const status = (await (await httpGet(healthPort, '/status')).json()) as {
      status: string;
      allocationCount: number;
    };
    expect(status).toMatchObject({ status: 'TERMINATING', allocationCount: 1 });
    await relays(c); // still relaying while draining

    const late = await open();
    clients.push(late);
    const refused = await late.allocate().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(TurnError);
    expect([300, 486, 508]).toContain((refused as TurnError).code);

    await new Promise((r) => setTimeout(r, 500));
    expect(exited(p)).toBe(false); // the allocation is live: no exit yet
    await relays(c);

    await c.refresh(0); // the call ends
    await until('process exit', () => exited(p), 5000);
    expect(await p.exited()).toBe(0);
    expect(p.proc.signalCode).toBeNull();
  });

  it('exits 0 when the grace period runs out with an allocation still live', async () => {
    proc = await start('1');
    const p = proc;
    const c = await liveAllocation();
    const t0 = Date.now();
    p.proc.kill('SIGTERM');
    await relays(c);
    await until('process exit', () => exited(p), 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(await p.exited()).toBe(0);
    expect(p.proc.signalCode).toBeNull();
  });
});

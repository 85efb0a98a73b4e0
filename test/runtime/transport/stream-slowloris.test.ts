/**
 * Issue 15, hole 1 (slowloris): a TCP client that trickles a frame never resets the first-frame
 * and partial-frame deadlines; a partial frame's buffer grows with what arrived, not with what
 * its header announced; one IP is held to its connection cap and new-connection rate; every
 * refusal is counted.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamFramer } from '../../../runtime/stun/index.js';
import { freePort } from '../../helpers/net.js';
import { type InProcessStunnerd, startStunnerdInProcess } from '../../helpers/stunnerd.js';
import { sleep, until } from '../../helpers/wait.js';

async function open(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('hole 1: slowloris (issue 15)', () => {
  let rt: InProcessStunnerd | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  const start = async (admin: object = {}) => {
    const port = await freePort();
    rt = await startStunnerdInProcess(
      {
        version: 'v1',
        admin: { healthcheck_endpoint: '', ...admin },
        auth: { credentials: { username: 'u', password: 'p' } },
        listeners: [{ name: 'tcp', protocol: 'TURN-TCP', address: '127.0.0.1', port, routes: [] }],
      },
      { logLevel: 'all:WARN', streamDeadlines: { firstFrameMs: 800, frameMs: 600 } },
    );
    return port;
  };

  it('closes a connection that trickles its first frame one byte at a time, past the hard deadline', async () => {
    const port = await start();
    const s = await open(port);
    // A Binding request header, one byte every 150 ms: never idle, never complete.
    const header = Buffer.from([0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8]);
    const t0 = Date.now();
    let i = 0;
    const trickle = setInterval(() => {
      if (!s.destroyed && i < header.length) s.write(header.subarray(i, ++i));
    }, 150);
    await Promise.race([closed(s), sleep(4000)]);
    clearInterval(trickle);
    expect(s.destroyed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(rt!.daemon.stats.listeners.get('tcp')!.closedFirstFrameDeadline).toBe(1);
  });

  it('closes a connection whose partial frame trickles past the frame deadline, after a first frame', async () => {
    const port = await start();
    const s = await open(port);
    // One complete (empty) ChannelData frame, then a ChannelData frame announcing 65,535 bytes.
    s.write(Buffer.from([0x40, 0x00, 0x00, 0x00]));
    s.write(Buffer.from([0x40, 0x00, 0xff, 0xff]));
    const trickle = setInterval(() => {
      if (!s.destroyed) s.write(Buffer.from([0]));
    }, 100);
    await Promise.race([closed(s), sleep(4000)]);
    clearInterval(trickle);
    expect(s.destroyed).toBe(true);
    expect(rt!.daemon.stats.listeners.get('tcp')!.closedFrameDeadline).toBe(1);
  });

  it('grows a partial frame buffer with the bytes received, not the announced length', () => {
    const f = new StreamFramer(
      () => {},
      () => {},
    );
    f.push(Buffer.from([0x40, 0x00, 0xff, 0xff, 1, 2, 3, 4, 5, 6]));
    expect(f.buffered).toBe(10);
    expect(f.reserved).toBeLessThanOrEqual(256);
    for (let i = 0; i < 100; i++) f.push(Buffer.alloc(100));
    expect(f.buffered).toBe(10_010);
    expect(f.reserved).toBeLessThanOrEqual(2 * 10_010);
  });

  it('holds one IP to max_connections_per_ip and new_connections_per_ip, and counts the refusals', async () => {
    const port = await start({ max_connections_per_ip: 3, new_connections_per_ip: 1000 });
    const socks: Socket[] = [];
    for (let i = 0; i < 5; i++) socks.push(await open(port));
    await until(
      'two connections refused and closed',
      () =>
        rt!.daemon.stats.listeners.get('tcp')!.refusedPerIpCap >= 2 &&
        socks.filter((s) => s.destroyed).length >= 2,
    );
    expect(socks.filter((s) => !s.destroyed)).toHaveLength(3);
    expect(rt!.daemon.stats.listeners.get('tcp')!.refusedPerIpCap).toBe(2);
    for (const s of socks) s.destroy();
    await rt!.daemon.reconfigure(
      (await import('../../../contract/config/index.js')).parseConfig({
        ...rt!.daemon.config,
        admin: { ...rt!.daemon.config.admin, max_connections_per_ip: 0, new_connections_per_ip: 2 },
      }),
    );
    const burst: Socket[] = [];
    for (let i = 0; i < 8; i++) burst.push(await open(port));
    await until(
      'three connections of the burst refused and closed',
      () =>
        rt!.daemon.stats.listeners.get('tcp')!.refusedPerIpRate >= 3 &&
        burst.filter((s) => s.destroyed).length >= 3,
    );
    // A burst of twice the rate, then refusals.
    expect(burst.filter((s) => !s.destroyed).length).toBeLessThanOrEqual(5);
    expect(rt!.daemon.stats.listeners.get('tcp')!.refusedPerIpRate).toBeGreaterThanOrEqual(3);
    for (const s of burst) s.destroy();
  });
});

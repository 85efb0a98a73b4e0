/**
 * The bench's C programs (bench/native): they build; turn-blast sets up allocations and relays a
 * bounded burst of ChannelData through coturn and through our runtime to the C echo peer with the
 * expected counts; the forwarder floors forward `turn-blast --raw`; a server that is gone or
 * stops mid-run shows up as a failed setup or as lost packets, never as a clean run.
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRawLoad } from '../../bench/load.js';
import { buildNative, type NativeTools } from '../../bench/native/build.js';
import { type CProcess, runBlast, startC } from '../../bench/pinned.js';
import { coturn, freeUdpPort, ourConfig, type ServerHandle } from '../../bench/servers.js';
import { type StunnerdProcess, startStunnerd } from '../helpers/stunnerd.js';

let tools: NativeTools;
let echo: CProcess;
const tmp = mkdtempSync(join(tmpdir(), 'bench-native-'));

beforeAll(async () => {
  tools = buildNative();
  echo = await startC(tools.udpEcho, ['--max-ms', '120000']);
}, 60_000);

afterAll(async () => {
  await echo?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** A short closed-loop burst: `flows` × `window` packets in flight for 400 ms; a long drain, for a busy machine. */
const burst = { flows: 4, payload: 172, window: 8, warmupMs: 100, durationMs: 400, drainMs: 1000 };

describe('bench/native', () => {
  it('builds turn-blast, udp-echo, fwd-plain, fwd-mmsg and fwd-mmsg-cd', () => {
    for (const bin of Object.values(tools)) expect(() => accessSync(bin, constants.X_OK)).not.toThrow();
    // cached: a second call finds the same binaries without compiling
    expect(buildNative()).toEqual(tools);
  });

  for (const floor of ['fwdPlain', 'fwdMmsg'] as const) {
    it(`${floor} forwards turn-blast --raw through the echo peer and back`, async () => {
      const fwd = await startC(tools[floor], ['--peer', `127.0.0.1:${echo.port}`, '--max-ms', '60000']);
      try {
        const r = await runBlast(tools.turnBlast, {
          ...burst,
          server: fwd.port,
          raw: true,
          cpuPids: [fwd.pid],
        });
        expect(r['mode']).toBe('raw');
        expect(r['sent'] as number).toBeGreaterThan(1000);
        expect(r['received']).toBe(r['sent']);
        expect(r['lost']).toBe(0);
        expect(r['bad']).toBe(0);
        expect(r['cpu_us_per_pkt'] as number).toBeGreaterThanOrEqual(0);
      } finally {
        const counts = await fwd.stop();
        expect(counts?.['flows']).toBe(burst.flows);
        expect(counts?.['to_peer']).toBe(counts?.['to_client']);
        expect(counts?.['to_peer'] as number).toBeGreaterThan(1000);
      }
    }, 20_000);
  }

  it('fwd-mmsg-cd forwards ChannelData frames (turn-blast --raw-channel) and drops bare payloads', async () => {
    const fwd = await startC(tools.fwdMmsgCd, ['--peer', `127.0.0.1:${echo.port}`, '--max-ms', '60000']);
    try {
      const r = await runBlast(tools.turnBlast, { ...burst, server: fwd.port, raw: true, rawChannel: true });
      expect(r['mode']).toBe('raw-channel');
      expect(r['sent'] as number).toBeGreaterThan(1000);
      expect(r['received']).toBe(r['sent']);
      const bare = await runBlast(tools.turnBlast, {
        ...burst,
        durationMs: 200,
        server: fwd.port,
        raw: true,
      });
      expect(bare['received']).toBe(0);
    } finally {
      const counts = await fwd.stop();
      expect(counts?.['dropped'] as number).toBeGreaterThan(0);
    }
  }, 20_000);

  it('fwd-mmsg --pairs forwards between paired clients of the Node generator (its raw mode)', async () => {
    const fwd = await startC(tools.fwdMmsg, ['--pairs', '--max-ms', '60000']);
    try {
      const r = await runRawLoad(fwd, {
        clients: 4,
        window: 8,
        payload: 172,
        warmupMs: 100,
        durationMs: 400,
        topology: 'pairs',
      });
      expect(r.relayedPerSec).toBeGreaterThan(1000);
      expect(r.lost).toBe(0);
      expect(r.cpuUsPerPkt).toBeGreaterThan(0);
    } finally {
      const counts = await fwd.stop();
      expect(counts?.['flows']).toBe(4);
    }
  }, 20_000);

  it('a forwarder that stops mid-run shows up as lost packets', async () => {
    const fwd = await startC(tools.fwdPlain, ['--peer', `127.0.0.1:${echo.port}`, '--max-ms', '60000']);
    const run = runBlast(tools.turnBlast, { ...burst, durationMs: 1500, server: fwd.port, raw: true });
    await new Promise((r) => setTimeout(r, 500));
    await fwd.stop();
    const r = await run;
    expect(r['sent'] as number).toBeGreaterThan(0);
    expect(r['lost'] as number).toBeGreaterThan(0);
  }, 20_000);

  describe('through coturn', () => {
    let server: ServerHandle;
    beforeAll(async () => {
      server = await coturn.start(await freeUdpPort(), tmp);
    }, 20_000);
    afterAll(() => server?.stop());

    it('allocates, binds a channel and relays a burst with every packet echoed', async () => {
      const own = await startC(tools.udpEcho, ['--max-ms', '60000']);
      const r = await runBlast(tools.turnBlast, {
        ...burst,
        server: server.port,
        peer: own.port,
        cpuPids: [server.pid],
      });
      const counts = await own.stop();
      expect(r['mode']).toBe('turn');
      expect(r['sent'] as number).toBeGreaterThan(1000);
      expect(r['received']).toBe(r['sent']);
      expect(r['lost']).toBe(0);
      expect(r['server_cores'] as number).toBeGreaterThan(0);
      // the echo peer saw each packet once: the server relayed them to it, not elsewhere
      expect(counts?.['received']).toBe(r['sent']);
      expect(counts?.['sent']).toBe(r['sent']);
    }, 20_000);
  });

  describe('through our runtime', () => {
    let ours: StunnerdProcess;
    let port: number;
    beforeAll(async () => {
      port = await freeUdpPort();
      ours = await startStunnerd(ourConfig(port));
    }, 30_000);
    afterAll(() => ours?.stop());

    it('allocates, binds a channel and relays a burst with every packet echoed', async () => {
      const own = await startC(tools.udpEcho, ['--max-ms', '60000']);
      const r = await runBlast(tools.turnBlast, {
        ...burst,
        server: port,
        peer: own.port,
        cpuPids: [ours.proc.pid!],
      });
      const counts = await own.stop();
      expect(r['sent'] as number).toBeGreaterThan(1000);
      expect(r['received']).toBe(r['sent']);
      expect(r['lost']).toBe(0);
      expect(r['server_cores'] as number).toBeGreaterThan(0);
      expect(counts?.['received']).toBe(r['sent']);
      expect(counts?.['sent']).toBe(r['sent']);
    }, 20_000);

    it('a stopped server fails the setup', async () => {
      await ours.stop();
      await expect(runBlast(tools.turnBlast, { ...burst, server: port, peer: echo.port })).rejects.toThrow(
        /setup failed/,
      );
    }, 20_000);
  });
});

/**
 * The batched UDP I/O module (runtime/transport/native/udp-batch.c): the committed binary is exactly what
 * the source compiles to, it loads on this platform (and can be turned off), it moves real
 * datagrams with their numeric source addresses, and it refuses every range outside its buffers.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileToBytes } from '../../../runtime/transport/native/build.js';
import { PREBUILT_FILE, udpBatch, udpBatchStatus } from '../../../runtime/transport/native/udp-batch.js';
import { stateOf } from '../../../runtime/transport/udp/handle.js';
import { modulePath, ROOT, runScript } from '../../helpers/child-script.js';

const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

function bound(): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    sockets.push(s);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}
function fdOf(s: dgram.Socket): number {
  return stateOf(s)!.handle!.fd as number;
}

describe('udp-batch native module', () => {
  it('is committed exactly as udp-batch.c compiles (npm run native)', () => {
    const committed = readFileSync(path.join(ROOT, 'runtime/transport/native', PREBUILT_FILE));
    expect(compileToBytes().equals(committed), 'run `npm run native` and commit the result').toBe(true);
  });

  it('loads on linux-x64 and says so', () => {
    expect(udpBatchStatus()).toMatch(/^on /);
    expect(udpBatch()?.version).toBe(1);
  });

  it('is off with STUNNERD_NATIVE=off, and the relay then uses the Node path', () => {
    const script = `
      import dgram from 'node:dgram';
      import { udpBatchStatus } from ${modulePath('runtime/transport/native/udp-batch.ts')};
      import { UdpSender } from ${modulePath('runtime/transport/udp/send.ts')};
      const s = dgram.createSocket('udp4');
      await new Promise((r) => s.bind(0, '127.0.0.1', r));
      console.log(JSON.stringify({ status: udpBatchStatus(), native: new UdpSender(s).native }));
      s.close();
    `;
    expect(runScript(script, [], { STUNNERD_NATIVE: 'off' })).toEqual({
      status: 'off (STUNNERD_NATIVE=off)',
      native: false,
    });
  });

  it('sends to numeric addresses and drains queued datagrams with their sources', async () => {
    const b = udpBatch()!;
    const rx = await bound();
    const tx = await bound();
    // Keep Node from reading rx: the module drains it.
    (stateOf(rx)!.handle as unknown as { recvStop(): void }).recvStop();
    const port = rx.address().port;
    expect(b.send(fdOf(tx), Buffer.from('xxhixx'), 2, 2, 0x7f000001, port)).toBe(0);
    expect(b.sendChannel(fdOf(tx), 0x4005, Buffer.from('abcd'), 1, 3, 0x7f000001, port)).toBe(0);
    expect(b.send(fdOf(tx), Buffer.alloc(0), 0, 0, 0x7f000001, port)).toBe(0);
    const arena = Buffer.alloc(4 * 64);
    const meta = new Int32Array(12);
    const n = b.recv(fdOf(rx), arena, meta, 4, 64);
    expect(n).toBe(3);
    expect([...meta.subarray(0, 9)]).toEqual([
      2,
      0x7f000001,
      tx.address().port,
      7,
      0x7f000001,
      tx.address().port,
      0,
      0x7f000001,
      tx.address().port,
    ]);
    expect(arena.subarray(0, 2).toString()).toBe('hi');
    expect(arena.subarray(64, 71).toString('hex')).toBe(`40050003${Buffer.from('bcd').toString('hex')}`);
    // Empty queue: 0, not an error.
    expect(b.recv(fdOf(rx), arena, meta, 4, 64)).toBe(0);
    // Too big for its slot: reported as -1 (dropped), never cut short.
    b.send(fdOf(tx), Buffer.alloc(100), 0, 100, 0x7f000001, port);
    expect(b.recv(fdOf(rx), arena, meta, 4, 64)).toBe(1);
    expect(meta[0]).toBe(-1);
  });

  it('refuses ranges outside its buffers and malformed arguments', async () => {
    const b = udpBatch()!;
    const s = await bound();
    const fd = fdOf(s);
    const buf = Buffer.alloc(16);
    const bad: Array<[() => unknown, RegExp]> = [
      [() => b.send(fd, buf, 10, 7, 0x7f000001, 9), /past the end/],
      [() => b.send(fd, buf, -1, 1, 0x7f000001, 9), /start/],
      [() => b.send(fd, buf, 0, 1, 0x7f000001, 65536), /port/],
      [() => b.sendChannel(fd, 0x10000, buf, 0, 1, 0x7f000001, 9), /channel/],
      [() => b.recv(fd, buf, new Int32Array(3), 2, 16), /arena is smaller/],
      [() => b.recv(fd, Buffer.alloc(64), new Int32Array(3), 2, 16), /meta needs/],
      [() => b.recv(fd, buf, new Int32Array(3), 65, 1), /slots/],
      [
        () => (b.recv as (...a: unknown[]) => number)(fd, 'x', new Int32Array(3), 1, 1),
        /arena must be a Buffer/,
      ],
    ];
    for (const [call, message] of bad) expect(call).toThrow(message);
    // Port 0 can come from the wire: an error code, never an exception in the hot path.
    expect(b.send(fd, buf, 0, 1, 0x7f000001, 0)).toBeLessThan(0);
    expect(b.sendChannel(fd, 0x4000, buf, 0, 1, 0x7f000001, 0)).toBeLessThan(0);
  });
});

/**
 * Writes the committed seeds of the native fast path's fuzz target (fuzz/native/corpus/fastpath/):
 * `npx tsx fuzz/native/make-corpus.ts`. Each seed is a program in fastpath.c's input encoding that
 * reaches one of the paths a relay takes: ChannelData both ways, Send and Data indications for
 * IPv6, a withdrawal by CIDR, expiry and sweeping, a full table, port ranges, raw datagrams; and
 * ChannelData whose length runs one byte past the datagram (boundary-*).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { storeInput } from '../engine/corpus.js';

export const NATIVE_CORPUS_DIR = path.join(import.meta.dirname, 'corpus', 'fastpath');
/** File name prefix of the seeds at a parser's boundary (a length one past the datagram). */
export const BOUNDARY_PREFIX = 'boundary-';

/** An address byte: family, one of 8 IPs, one of 15 ports (0: port 0). */
const v4 = (ip: number, port: number): number => ((ip & 7) << 4) | (port & 15);
const v6 = (ip: number, port: number): number => 0x80 | v4(ip, port);

class Program {
  private readonly bytes: number[];
  constructor(allocations: number, permissions: number, channels: number) {
    this.bytes = [((allocations - 1) & 7) | (((permissions - 1) & 31) << 3), (channels - 1) & 31];
  }
  private op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  private static u16(n: number): number[] {
    return [(n >> 8) & 0xff, n & 0xff];
  }
  install(listener: number, client: number, fd: number, lifetime: number, slot: number): this {
    return this.op(0, listener, client, fd, ...Program.u16(lifetime), slot);
  }
  remove(slot: number): this {
    return this.op(1, slot);
  }
  refresh(slot: number, lifetime: number): this {
    return this.op(2, slot, ...Program.u16(lifetime));
  }
  /** Any port, or the given ranges (of port indexes 1..15) and blocked ports. */
  permit(
    slot: number,
    peer: number,
    lifetime: number,
    ranges: [number, number][] = [],
    blocked: number[] = [],
  ): this {
    const shape = (ranges.length === 0 ? 1 : 0) | (ranges.length << 1) | (blocked.length << 5);
    return this.op(3, slot, peer, ...Program.u16(lifetime), shape, ...ranges.flat(), ...blocked);
  }
  forbid(slot: number, peer: number): this {
    return this.op(4, slot, peer);
  }
  bind(slot: number, channel: number, peer: number, lifetime: number): this {
    return this.op(5, slot, channel & 7, peer, ...Program.u16(lifetime));
  }
  unbind(slot: number, channel: number): this {
    return this.op(6, slot, channel & 7);
  }
  withdraw(opts: { inside: boolean; listener?: number }, cidrs: [number, number][]): this {
    const shape =
      cidrs.length | (opts.inside ? 4 : 0) | (opts.listener === undefined ? 8 : (opts.listener & 3) << 4);
    return this.op(7, shape, ...cidrs.flat());
  }
  sweep(): this {
    return this.op(8);
  }
  /** Moves the clock on by steps of 16 ms. */
  advance(steps: number): this {
    return this.op(9, steps);
  }
  raw(listener: number, client: number, datagram: Buffer): this {
    return this.op(10, listener, client, datagram.length, ...datagram);
  }
  channelData(listener: number, client: number, channel: number, payload: number, lengthDelta = 0): this {
    return this.op(11, listener, client, channel & 7, payload, lengthDelta & 0xff);
  }
  /** extra: 0 none, 1 DONT-FRAGMENT, 2 FINGERPRINT, 3 an unknown attribute. */
  send(listener: number, client: number, peer: number, dataLen: number, extra = 0): this {
    return this.op(12, listener, client, peer, dataLen, extra);
  }
  fromPeer(fd: number, peer: number, length: number): this {
    return this.op(13, fd, peer, ...Program.u16(length));
  }
  counters(slot: number, peer: number): this {
    return this.op(14, slot, peer);
  }
  build(): Buffer {
    return Buffer.from(this.bytes);
  }
}

/** An allocation on listener 0 with a permission and channel 0x4000 to one peer. */
const bound = (): Program =>
  new Program(2, 4, 4)
    .install(0, v4(1, 1), 0, 0x4000, 0)
    .permit(0, v4(2, 1), 0x4000)
    .bind(0, 0, v4(2, 1), 0x4000);

/** ChannelData whose length field runs one byte past the datagram, structured and raw: must punt. */
export function boundarySeeds(): Buffer[] {
  return [
    bound().channelData(0, v4(1, 1), 0, 16, 1),
    bound().raw(0, v4(1, 1), Buffer.from('4000000561626364', 'hex')),
  ].map((p) => p.build());
}

export function seeds(): Buffer[] {
  const channelV4 = new Program(4, 8, 8)
    .install(1, v4(1, 1), 0, 0x4000, 0)
    .permit(0, v4(2, 1), 0x4000)
    .bind(0, 0, v4(2, 1), 0x4000)
    .channelData(1, v4(1, 1), 0, 16)
    .channelData(1, v4(1, 1), 0, 13)
    .fromPeer(0, v4(2, 1), 16)
    .fromPeer(0, v4(2, 2), 5)
    .counters(0, v4(2, 1));
  const indicationsV6 = new Program(4, 8, 8)
    .install(2, v6(3, 3), 1, 0x4000, 1)
    .permit(1, v6(4, 4), 0x4000)
    .send(2, v6(3, 3), v6(4, 4), 10)
    .send(2, v6(3, 3), v6(4, 4), 7, 2)
    .send(2, v6(3, 3), v6(4, 4), 7, 3)
    .fromPeer(1, v6(4, 4), 10)
    .bind(1, 3, v6(4, 4), 0x4000)
    .fromPeer(1, v6(4, 4), 10)
    .channelData(2, v6(3, 3), 3, 32);
  const withdraw = new Program(4, 16, 16)
    .install(1, v4(1, 1), 0, 0x4000, 0)
    .install(2, v6(1, 1), 1, 0x4000, 1)
    .permit(0, v4(2, 1), 0x4000)
    .permit(0, v4(5, 1), 0x4000)
    .permit(1, v6(2, 1), 0x4000)
    .bind(0, 0, v4(2, 1), 0x4000)
    .bind(0, 1, v4(5, 1), 0x4000)
    .withdraw({ inside: false, listener: 1 }, [[v4(2, 0), 28]])
    .channelData(1, v4(1, 1), 0, 8)
    .channelData(1, v4(1, 1), 1, 8)
    .withdraw({ inside: true }, [[v6(2, 0), 44]])
    .fromPeer(1, v6(2, 1), 8);
  const expiry = new Program(2, 4, 4)
    .install(1, v4(1, 1), 0, 200, 0)
    .permit(0, v4(2, 1), 100)
    .bind(0, 0, v4(2, 1), 50)
    .channelData(1, v4(1, 1), 0, 4)
    .advance(4)
    .channelData(1, v4(1, 1), 0, 4)
    .fromPeer(0, v4(2, 1), 4)
    .refresh(0, 1000)
    .advance(10)
    .fromPeer(0, v4(2, 1), 4)
    .sweep()
    .install(1, v4(1, 1), 0, 200, 1);
  const full = new Program(1, 1, 1)
    .install(0, v4(1, 1), 0, 0x4000, 0)
    .install(0, v4(1, 2), 1, 0x4000, 1)
    .permit(0, v4(2, 1), 0x4000)
    .permit(0, v4(3, 1), 0x4000)
    .bind(0, 0, v4(2, 1), 0x4000)
    .bind(0, 1, v4(2, 2), 0x4000)
    .remove(0)
    .install(0, v4(1, 2), 1, 0x4000, 1)
    .forbid(1, v4(2, 1))
    .unbind(1, 0);
  const ports = new Program(2, 4, 4)
    .install(3, v4(1, 1), 2, 0x4000, 0)
    .permit(
      0,
      v4(2, 0),
      0x4000,
      [
        [1, 4],
        [9, 9],
      ],
      [3],
    )
    .bind(0, 0, v4(2, 3), 0x4000)
    .bind(0, 1, v4(2, 4), 0x4000)
    .channelData(3, v4(1, 1), 0, 4)
    .channelData(3, v4(1, 1), 1, 4)
    .fromPeer(2, v4(2, 9), 4)
    .fromPeer(2, v4(2, 10), 4);
  const raw = bound()
    .raw(0, v4(1, 1), Buffer.from('400000046162636400', 'hex'))
    .raw(0, v4(1, 1), Buffer.from('4000ffff61', 'hex'))
    .raw(0, v4(1, 1), Buffer.from('000100002112a442000102030405060708090a0b', 'hex'));
  return [channelV4, indicationsV6, withdraw, expiry, full, ports, raw].map((p) => p.build());
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  rmSync(NATIVE_CORPUS_DIR, { recursive: true, force: true });
  for (const s of seeds()) storeInput(NATIVE_CORPUS_DIR, s, 'seed-');
  for (const s of boundarySeeds()) storeInput(NATIVE_CORPUS_DIR, s, BOUNDARY_PREFIX);
  const n = seeds().length + boundarySeeds().length;
  console.log(`wrote ${n} seeds to ${path.relative(process.cwd(), NATIVE_CORPUS_DIR)}`);
}

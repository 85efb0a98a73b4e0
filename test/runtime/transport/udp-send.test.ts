/**
 * The hot-path UDP helpers over real loopback sockets: sends that bypass dgram.send deliver every
 * byte (ChannelData header + payload, byte ranges, buffer lists, IPv4 and IPv6), also when libuv
 * must queue each send (Node's --test-udp-no-try-send: the reused header must not be overwritten
 * under a queued send, and bytes drained into the batch arena must be copied before they queue),
 * and direct receive handlers see every datagram until detached.
 */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { ipv4ToInt } from '../../../runtime/stun/ip.js';
import { stateOf } from '../../../runtime/transport/udp/handle.js';
import { isTransient, onDatagram } from '../../../runtime/transport/udp/receive.js';
import { UdpSender } from '../../../runtime/transport/udp/send.js';
import { modulePath, runScript } from '../../helpers/child-script.js';
import { sleep, until } from '../../helpers/wait.js';

function bound(type: 'udp4' | 'udp6', host: string): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(type);
    s.bind(0, host, () => resolve(s));
  });
}

describe('UdpSender / onDatagram', () => {
  for (const [type, host] of [
    ['udp4', '127.0.0.1'],
    ['udp6', '::1'],
  ] as const) {
    it(`delivers ChannelData, ranges and lists intact (${type})`, async () => {
      const rx = await bound(type, host);
      const tx = await bound(type, host);
      const got: string[] = [];
      const detach = onDatagram(rx, (b, start, end, ip, port, rinfo) => {
        got.push(`${b.subarray(start, end).toString('hex')}@${port}`);
        if (type === 'udp4') expect(ip).toBe(ipv4ToInt(host));
        else expect([ip, rinfo?.address]).toEqual([-1, host]);
      });
      const s = new UdpSender(tx);
      expect(s.direct).toBe(true);
      expect(s.native).toBe(type === 'udp4');
      const port = rx.address().port;
      const ip = type === 'udp4' ? ipv4ToInt(host) : -1;
      s.sendChannelData(0x4001, Buffer.from('abc'), 0, 3, ip, port, host);
      s.sendChannelData(0x7fff, Buffer.from('xdex'), 1, 2, ip, port, host);
      s.sendRange(Buffer.from('xxhelloxx'), 2, 5, ip, port, host);
      s.sendList([Buffer.from('a'), Buffer.from('b')], port, host);
      await until('the four datagrams', () => got.length >= 4);
      detach();
      s.sendRange(Buffer.from('late'), 0, 4, ip, port, host);
      // a negative check: time for the late datagram to arrive, which no handler may see
      await sleep(50);
      const from = tx.address().port;
      expect(got).toEqual([
        `40010003616263@${from}`,
        `7fff00026465@${from}`,
        `68656c6c6f@${from}`,
        `6162@${from}`,
      ]);
      tx.close();
      rx.close();
      // closed socket: the datagram is dropped, nothing throws (and nothing goes out of a reused fd)
      expect(() => s.sendChannelData(0x4000, Buffer.from('x'), 0, 1, ip, port, host)).not.toThrow();
      expect(() => s.sendRange(Buffer.from('x'), 0, 1, ip, port, host)).not.toThrow();
    });
  }

  it('drains bursts in batches: every datagram arrives once, in order, with its source', async () => {
    const rx = await bound('udp4', '127.0.0.1');
    rx.setRecvBufferSize(1 << 20);
    const txs = [await bound('udp4', '127.0.0.1'), await bound('udp4', '127.0.0.1')];
    const seen = new Map<number, number[]>();
    let batched = 0;
    onDatagram(rx, (b, start, end, ip, port, rinfo) => {
      expect(ip).toBe(0x7f000001);
      if (rinfo === undefined) batched++;
      const list = seen.get(port) ?? [];
      list.push(b.readUInt32BE(start));
      expect(end - start).toBe(4 + (b.readUInt32BE(start) % 50));
      seen.set(port, list);
    });
    const N = 500;
    for (let i = 0; i < N; i++) {
      for (const tx of txs) {
        const m = Buffer.alloc(4 + (i % 50));
        m.writeUInt32BE(i);
        tx.send(m, rx.address().port, '127.0.0.1');
      }
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && [...seen.values()].reduce((n, l) => n + l.length, 0) < 2 * N) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const tx of txs) expect(seen.get(tx.address().port)).toEqual([...Array(N).keys()]);
    // A burst queues up behind the first datagram: most of it must come through the drain.
    expect(batched).toBeGreaterThan(N);
    for (const s of [rx, ...txs]) s.close();
  });

  it('keeps queued sends intact when libuv cannot send synchronously (Node path)', () => {
    const script = `
      import dgram from 'node:dgram';
      import { UdpSender } from ${modulePath('runtime/transport/udp/send.ts')};
      const rx = dgram.createSocket('udp4');
      await new Promise((r) => rx.bind(0, '127.0.0.1', r));
      rx.setRecvBufferSize(1 << 20);
      let ok = 0, bad = 0;
      rx.on('message', (m) => {
        const ch = m.readUInt16BE(0);
        if (m.readUInt16BE(2) === m.length - 4 && m.readUInt16BE(4) === ch && m.length === 6 + (ch & 0xff)) ok++;
        else bad++;
      });
      const tx = dgram.createSocket('udp4');
      await new Promise((r) => tx.bind(0, '127.0.0.1', r));
      const s = new UdpSender(tx);
      for (let i = 0; i < 1000; i++) {
        const ch = 0x4000 + (i % 256);
        const p = Buffer.alloc(2 + (ch & 0xff));
        p.writeUInt16BE(ch, 0);
        s.sendChannelData(ch, p, 0, p.length, 0x7f000001, rx.address().port, '127.0.0.1');
        if (i % 100 === 99) await new Promise((r) => setImmediate(r));
      }
      for (const end = Date.now() + 5000; ok + bad < 1000 && Date.now() < end; )
        await new Promise((r) => setTimeout(r, 10));
      console.log(JSON.stringify({ ok, bad, direct: s.direct, native: s.native }));
      tx.close();
      rx.close();
    `;
    const out = runScript(script, ['--test-udp-no-try-send'], { STUNNERD_NATIVE: 'off' });
    expect(out).toEqual({ ok: 1000, bad: 0, direct: true, native: false });
  });

  it('never hands batch-arena bytes to a send libuv could queue (IPv4 in, IPv6 out)', async () => {
    // Datagrams drained into the arena are forwarded over an IPv6 socket (no batched sends), i.e.
    // through the UDP handle, which queues when the kernel is busy: a queued send that pointed into
    // the arena would go out with whatever the next drain wrote there.
    const inbound = await bound('udp4', '127.0.0.1');
    inbound.setRecvBufferSize(1 << 20);
    const out6 = await bound('udp6', '::1');
    const sink = await bound('udp6', '::1');
    sink.setRecvBufferSize(1 << 20);
    const handle = stateOf(out6)!.handle!;
    const realSend = handle.send.bind(handle);
    let handedTransient = 0;
    handle.send = (req, list, count, port, address, cb) => {
      for (let i = 0; i < count; i++) if (isTransient(list[i]!)) handedTransient++;
      return realSend(req, list, count, port, address, cb);
    };
    const fwd = new UdpSender(out6);
    let batched = 0;
    onDatagram(inbound, (b, start, end, _ip, _port, rinfo) => {
      if (rinfo === undefined) batched++;
      fwd.sendChannelData(0x4000, b, start, end - start, -1, sink.address().port, '::1');
    });
    let ok = 0;
    let bad = 0;
    sink.on('message', (m) => {
      const i = m.readUInt32BE(4);
      if (m.length === 4 + 64 && m.subarray(8).every((x) => x === (i & 0xff))) ok++;
      else bad++;
    });
    const tx = await bound('udp4', '127.0.0.1');
    for (let i = 0; i < 1000; i++) {
      const m = Buffer.alloc(64, i & 0xff);
      m.writeUInt32BE(i, 0);
      tx.send(m, inbound.address().port, '127.0.0.1');
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && ok + bad < 1000) await new Promise((r) => setTimeout(r, 20));
    expect(batched).toBeGreaterThan(0);
    expect(handedTransient).toBe(0);
    expect({ ok, bad }).toEqual({ ok: 1000, bad: 0 });
    for (const s of [inbound, out6, sink, tx]) s.close();
  });
});

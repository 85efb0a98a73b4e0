/**
 * The hot-path UDP helpers over real loopback sockets: sends that bypass dgram.send deliver every
 * byte (ChannelData header + payload, byte ranges, buffer lists, IPv4 and IPv6), also when libuv
 * must queue each send (Node's --test-udp-no-try-send: the reused header must not be overwritten
 * under a queued send), and direct receive handlers see every datagram until detached.
 */
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { onDatagram } from '../../runtime/turn/udp-receive.js';
import { UdpSender } from '../../runtime/turn/udp-send.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

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
      const detach = onDatagram(rx, (m, rinfo) => got.push(`${m.toString('hex')}@${rinfo.port}`));
      const s = new UdpSender(tx);
      expect(s.direct).toBe(true);
      const port = rx.address().port;
      s.sendChannelData(0x4001, Buffer.from('abc'), port, host);
      s.sendChannelData(0x7fff, Buffer.from('de'), port, host);
      s.sendRange(Buffer.from('xxhelloxx'), 2, 5, port, host);
      s.sendList([Buffer.from('a'), Buffer.from('b')], port, host);
      await new Promise((r) => setTimeout(r, 100));
      detach();
      s.sendRange(Buffer.from('late'), 0, 4, port, host);
      await new Promise((r) => setTimeout(r, 50));
      const from = tx.address().port;
      expect(got).toEqual([
        `40010003616263@${from}`,
        `7fff00026465@${from}`,
        `68656c6c6f@${from}`,
        `6162@${from}`,
      ]);
      tx.close();
      rx.close();
      // closed socket: the datagram is dropped, nothing throws
      expect(() => s.sendChannelData(0x4000, Buffer.from('x'), port, host)).not.toThrow();
    });
  }

  it('keeps queued sends intact when libuv cannot send synchronously', () => {
    const script = `
      import dgram from 'node:dgram';
      import { UdpSender } from ${JSON.stringify(path.join(ROOT, 'runtime/turn/udp-send.ts'))};
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
        s.sendChannelData(ch, p, rx.address().port, '127.0.0.1');
        if (i % 100 === 99) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 300));
      console.log(JSON.stringify({ ok, bad, direct: s.direct }));
      tx.close();
      rx.close();
    `;
    const r = spawnSync(
      process.execPath,
      ['--test-udp-no-try-send', '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: ROOT, encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out).toEqual({ ok: 1000, bad: 0, direct: true });
  });
});

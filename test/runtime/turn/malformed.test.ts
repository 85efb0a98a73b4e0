/**
 * Bad input against the running CLI process: >= 10,000 generated malformed datagrams and stream
 * frames (fixed-seed PRNG, bounded in count and time), sent both from strangers and from a client
 * that holds an allocation. Afterwards the process is alive and a fresh allocation still relays.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Attr,
  longTermKey,
  MessageClass,
  Method,
  newTransactionId,
  StunMessageBuilder,
} from '../../../runtime/stun/index.js';
import { freePort } from '../../helpers/net.js';
import { prng } from '../../helpers/prng.js';
import { type StunnerdProcess, startStunnerd } from '../../helpers/stunnerd.js';
import { TurnClient, UdpPeer } from '../../helpers/turn-client.js';
import { sleep } from '../../helpers/wait.js';

const KEY = longTermKey('user', 'fuzz', 'pass');

function generator(seed: number, peerPort: number) {
  const rnd = prng(seed);
  const { int, bytes } = rnd;
  const valid = (): Buffer => {
    const methods = [
      Method.BINDING,
      Method.ALLOCATE,
      Method.REFRESH,
      Method.CREATE_PERMISSION,
      Method.CHANNEL_BIND,
    ];
    const b = new StunMessageBuilder(methods[int(methods.length)]!, MessageClass.REQUEST, newTransactionId())
      .addRequestedTransport(17)
      .addXorAddress(Attr.XOR_PEER_ADDRESS, { family: 4, address: '127.0.0.1', port: peerPort })
      .addChannelNumber(0x4000 + int(0x4000))
      .addString(Attr.USERNAME, 'user')
      .addString(Attr.REALM, 'fuzz')
      .addString(Attr.NONCE, 'x'.repeat(int(40)));
    return b.build({ integrityKey: KEY, fingerprint: rnd() < 0.5 });
  };
  return (): Buffer => {
    switch (int(10)) {
      case 0:
        return bytes(int(600));
      case 1: {
        // Truncated valid message.
        const v = valid();
        return v.subarray(0, int(v.length));
      }
      case 2: {
        // Bit flips in a valid message (bad MESSAGE-INTEGRITY / FINGERPRINT / lengths).
        const v = Buffer.from(valid());
        for (let i = 0, n = 1 + int(4); i < n; i++) v[int(v.length)] ^= 1 << int(8);
        return v;
      }
      case 3: {
        // Header length field lies.
        const v = Buffer.from(valid());
        v.writeUInt16BE(int(0x10000), 2);
        return v;
      }
      case 4: {
        // ChannelData: unbound channel, or length beyond the datagram.
        const b = bytes(4 + int(200));
        b[0] = 0x40 + int(0x40);
        if (rnd() < 0.5) b.writeUInt16BE(b.length - 4 + 1 + int(1000), 2);
        return b;
      }
      case 5: {
        // Send indication with garbage attributes.
        const b = Buffer.concat([Buffer.alloc(20), bytes(4 * int(30))]);
        b.writeUInt16BE(0x0016, 0);
        b.writeUInt16BE(b.length - 20, 2);
        b.writeUInt32BE(0x2112a442, 4);
        if (b.length >= 24 && rnd() < 0.5) b.writeUInt16BE(0x0012, 20);
        return b;
      }
      case 6: {
        // Attribute that overruns the message.
        const v = Buffer.from(valid());
        v.writeUInt16BE(0xfff0, 22);
        return v;
      }
      case 7: {
        // Unknown comprehension-required attributes, no integrity.
        return new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, newTransactionId())
          .addBuffer(int(0x8000), bytes(int(64)))
          .build();
      }
      case 8: {
        // Responses and indications of random methods.
        return new StunMessageBuilder(int(0x1000), [0x010, 0x100, 0x110][int(3)]!, newTransactionId())
          .addBuffer(int(0x10000), bytes(int(32)))
          .build();
      }
      default: {
        // Wrong MESSAGE-INTEGRITY on an otherwise fine request.
        const b = new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, newTransactionId())
          .addRequestedTransport(17)
          .addString(Attr.USERNAME, 'user')
          .addString(Attr.REALM, 'fuzz')
          .addString(Attr.NONCE, 'n'.repeat(34));
        return b.build({ integrityKey: bytes(16) });
      }
    }
  };
}

describe('malformed input', () => {
  let rt: StunnerdProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    rt = await startStunnerd({
      version: 'v1',
      admin: { healthcheck_endpoint: '' },
      auth: { realm: 'fuzz', credentials: { username: 'user', password: 'pass' } },
      listeners: [
        { name: 'udp', protocol: 'TURN-UDP', address: '127.0.0.1', port, routes: ['peers'] },
        { name: 'tcp', protocol: 'TURN-TCP', address: '127.0.0.1', port, routes: ['peers'] },
      ],
      clusters: [{ name: 'peers', endpoints: ['127.0.0.1'] }],
    });
  });

  afterAll(async () => {
    await rt?.stop();
  });

  it('survives 10,000+ malformed datagrams and stream frames, then relays a fresh allocation', async () => {
    const peer = await UdpPeer.open(true);
    const next = generator(0x5eed, peer.address.port);
    const deadline = Date.now() + 30_000;
    let sent = 0;

    // A client with an allocation and a channel, so that bad input also hits allocation paths.
    const holder = await TurnClient.open({ host: '127.0.0.1', port, username: 'user', password: 'pass' });
    await holder.allocate();
    await holder.channelBind(0x4000, peer.address);
    const stranger = await TurnClient.open({ host: '127.0.0.1', port, username: 'x', password: 'y' });

    for (let i = 0; i < 8000 && Date.now() < deadline; i++) {
      (i % 2 === 0 ? holder : stranger).sendRaw(next());
      sent++;
      if (i % 200 === 199) await sleep(2);
    }

    // Streams: each connection gets frames until the server closes it (garbage or oversize).
    let streamFrames = 0;
    let closedByServer = 0;
    for (let c = 0; c < 40 && Date.now() < deadline; c++) {
      const sock: Socket = connect({ host: '127.0.0.1', port });
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', () => resolve());
        sock.once('error', reject);
      });
      let closed = false;
      sock.on('error', () => {});
      sock.once('close', () => {
        closed = true;
      });
      for (let i = 0; i < 60 && !closed; i++) {
        let frame = next();
        if (i === 59) {
          // Oversize: a STUN header announcing 65532 bytes of body.
          frame = Buffer.alloc(20);
          frame.writeUInt16BE(0x0001, 0);
          frame.writeUInt16BE(0xfffc, 2);
          frame.writeUInt32BE(0x2112a442, 4);
        }
        sock.write(frame);
        streamFrames++;
      }
      for (let w = 0; w < 10 && !closed; w++) await sleep(10);
      if (closed) closedByServer++;
      sock.destroy();
    }
    sent += streamFrames;
    expect(sent).toBeGreaterThanOrEqual(10_000);
    // Garbage closes a connection; a frame that announces more than was sent just waits for bytes.
    expect(closedByServer).toBeGreaterThan(10);

    // Oversize frames close the connection at once.
    const big = connect({ host: '127.0.0.1', port });
    big.on('error', () => {});
    await new Promise<void>((resolve) => big.once('connect', () => resolve()));
    const closedBig = new Promise<void>((resolve) => big.once('close', () => resolve()));
    const hdr = Buffer.alloc(20);
    hdr.writeUInt16BE(0x0003, 0);
    hdr.writeUInt16BE(0xfffc, 2);
    hdr.writeUInt32BE(0x2112a442, 4);
    big.write(hdr);
    await closedBig;
    expect(rt.proc.exitCode).toBeNull();

    // The holder's allocation still works, and a fresh one relays.
    holder.channelData(0x4000, Buffer.from('still here'));
    await holder.waitReceived(1, 3000);
    expect(holder.received.some((r) => r.data.toString() === 'still here')).toBe(true);
    const fresh = await TurnClient.open({ host: '127.0.0.1', port, username: 'user', password: 'pass' });
    await fresh.allocate();
    await fresh.channelBind(0x4001, peer.address);
    fresh.channelData(0x4001, Buffer.from('fresh'));
    await fresh.waitReceived(1, 3000);
    expect(fresh.received[0]!.data.toString()).toBe('fresh');
    const tcp = await TurnClient.open({
      host: '127.0.0.1',
      port,
      username: 'user',
      password: 'pass',
      transport: 'tcp',
    });
    await tcp.allocate();
    await tcp.createPermission(peer.address);
    tcp.send(peer.address, Buffer.from('tcp fresh'));
    await tcp.waitReceived(1, 3000);
    for (const c of [holder, stranger, fresh, tcp]) c.close();
    peer.close();
    expect(rt.output()).not.toMatch(/TypeError|RangeError|at .*\.ts:\d+/);
  }, 60_000);
});

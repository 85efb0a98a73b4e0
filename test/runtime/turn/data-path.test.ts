/**
 * The peer-to-client half of the data path without sockets: a fake relay socket emits peer
 * datagrams (IPv4 and IPv6) and a recording client link captures what the allocation sends, which
 * our codec must decode back to the same peer and payload. Also the client-to-peer fast path.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  Attr,
  decodeXorAddress,
  isParseError,
  MessageClass,
  Method,
  newTransactionId,
  parseStunMessage,
  StunMessageBuilder,
} from '../../../runtime/stun/index.js';
import { canonicalIpv6, ipv4ToInt } from '../../../runtime/stun/ip.js';
import { UdpPeerSocket } from '../../../runtime/transport/udp/relay-socket.js';
import { Allocation, ChannelBinding, Permission, peerKeyOf } from '../../../runtime/turn/allocation.js';
import { relayChannelData, relaySendIndication } from '../../../runtime/turn/fast-path.js';
import { listenerWithLink, routeConfig, routedPerimeter } from '../../helpers/turn-fixtures.js';

class FakeRelay extends EventEmitter {
  readonly sent: { data: Buffer; port: number; address: string }[] = [];
  send(buf: Buffer, offset: number, length: number, port: number, address: string): void {
    this.sent.push({ data: Buffer.from(buf.subarray(offset, offset + length)), port, address });
  }
  close(): void {}
}

function setup(family: 4 | 6) {
  const perimeter = routedPerimeter(['10.0.0.0/8:<5000-5001>', '2001:db8::/32']);
  const out: Buffer[] = [];
  const { listener, link } = listenerWithLink(out);
  const relay = new FakeRelay();
  const a = new Allocation(
    1,
    listener,
    link,
    undefined,
    'u',
    'u',
    new UdpPeerSocket(relay as never),
    '127.0.0.1',
    family,
    perimeter,
  );
  const permit = (address: string) => {
    const key = family === 4 ? ipv4ToInt(address) : canonicalIpv6(address);
    const r = perimeter.check('l', address);
    if (typeof r === 'string') throw new Error(r);
    const p = new Permission(key, address, family, r.cluster.stats);
    p.ranges = r.ranges;
    p.blocked = r.blockedPorts;
    p.gen = perimeter.generation;
    a.permissions.set(key, p);
    return p;
  };
  return { a, relay, out, permit, perimeter };
}

describe('data path', () => {
  it('wraps IPv6 peer datagrams in Data indications the codec decodes', () => {
    const { relay, out, permit } = setup(6);
    permit('2001:db8::5');
    relay.emit('message', Buffer.from('hello v6!'), {
      address: '2001:db8::5',
      port: 7000,
      family: 'IPv6',
      size: 9,
    });
    relay.emit('message', Buffer.from('stranger'), {
      address: '2001:db9::5',
      port: 7000,
      family: 'IPv6',
      size: 8,
    });
    expect(out).toHaveLength(1);
    const m = parseStunMessage(out[0]!);
    if (isParseError(m)) throw new Error(m.error);
    expect(m.cls).toBe(MessageClass.INDICATION);
    expect(m.method).toBe(Method.DATA);
    expect(decodeXorAddress(m, m.get(Attr.XOR_PEER_ADDRESS)!)).toEqual({
      family: 6,
      address: '2001:db8::5',
      port: 7000,
    });
    expect(m.value(Attr.DATA)!.toString()).toBe('hello v6!');
  });

  it('uses ChannelData for bound peers and checks port ranges in both directions', () => {
    const { a, relay, out, permit } = setup(4);
    const p = permit('10.1.2.3');
    const ch = new ChannelBinding(0x4001, '10.1.2.3', 5000, p.key, peerKeyOf(p.key, 5000));
    a.channels.set(ch.number, ch);
    a.channelsByPeer.set(ch.peerKey, ch);
    relay.emit('message', Buffer.from('abc'), { address: '10.1.2.3', port: 5000, family: 'IPv4', size: 3 });
    relay.emit('message', Buffer.from('data'), { address: '10.1.2.3', port: 5001, family: 'IPv4', size: 4 });
    // Outside the endpoint's port range: dropped inbound.
    relay.emit('message', Buffer.from('no'), { address: '10.1.2.3', port: 6000, family: 'IPv4', size: 2 });
    expect(out).toHaveLength(2);
    expect(out[0]!.readUInt16BE(0)).toBe(0x4001);
    expect(out[0]!.subarray(4).toString()).toBe('abc');
    const m = parseStunMessage(out[1]!);
    if (isParseError(m)) throw new Error(m.error);
    expect(decodeXorAddress(m, m.get(Attr.XOR_PEER_ADDRESS)!)).toEqual({
      family: 4,
      address: '10.1.2.3',
      port: 5001,
    });

    // Client -> peer: ChannelData and Send indications; port 6000 refused outbound.
    const cd = Buffer.from([0x40, 0x01, 0x00, 0x02, 0x68, 0x69, 0, 0]);
    relayChannelData(a, cd, 0, cd.length);
    const send = (port: number) =>
      new StunMessageBuilder(Method.SEND, MessageClass.INDICATION, newTransactionId())
        .addXorAddress(Attr.XOR_PEER_ADDRESS, { family: 4, address: '10.1.2.3', port })
        .addFlag(Attr.DONT_FRAGMENT)
        .addBuffer(Attr.DATA, Buffer.from(`to ${port}`))
        .build({ fingerprint: true });
    for (const port of [5001, 6000]) {
      const s = send(port);
      expect(relaySendIndication(a, s, 0, s.length)).toBe(true);
    }
    expect(relay.sent.map((x) => [x.data.toString(), x.port, x.address])).toEqual([
      ['hi', 5000, '10.1.2.3'],
      ['to 5001', 5001, '10.1.2.3'],
    ]);
  });

  it('re-checks permissions when the perimeter changes', () => {
    const { relay, out, permit, perimeter } = setup(4);
    permit('10.1.2.3');
    perimeter.setDynamicEndpoints('c', []);
    relay.emit('message', Buffer.from('ok'), { address: '10.1.2.3', port: 5000, family: 'IPv4', size: 2 });
    expect(out).toHaveLength(1);
    perimeter.load(routeConfig(['192.168.0.0/16']));
    relay.emit('message', Buffer.from('late'), { address: '10.1.2.3', port: 5000, family: 'IPv4', size: 4 });
    expect(out).toHaveLength(1);
  });
});

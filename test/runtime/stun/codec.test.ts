/** Round trips of the builder, attribute readers, integrity and message-type encoding. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  Attr,
  classOf,
  decodeAddress,
  decodeAddressFamily,
  decodeChannelNumber,
  decodeErrorCode,
  decodeEvenPort,
  decodeRequestedTransport,
  decodeString,
  decodeUnknownAttributes,
  decodeXorAddress,
  ErrorCode,
  formatIPv6,
  hasIntegrity,
  integrityKind,
  isParseError,
  KNOWN_ATTRIBUTES,
  looksLikeStun,
  MessageClass,
  Method,
  messageType,
  methodOf,
  newTransactionId,
  parseStunMessage,
  readUint32,
  readUint64,
  type StunMessage,
  StunMessageBuilder,
  type TransportAddress,
  verifyFingerprint,
  verifyIntegrity,
  writeIPv6,
} from '../../../runtime/stun/index.js';

function parse(buf: Buffer, start?: number, end?: number): StunMessage {
  const m = parseStunMessage(buf, start, end);
  if (isParseError(m)) throw new Error(m.error);
  return m;
}

const KEY = Buffer.from('0123456789abcdef');

describe('message type', () => {
  it('interleaves method and class bits as RFC 8489 sec 5 shows', () => {
    expect(messageType(Method.BINDING, MessageClass.REQUEST)).toBe(0x0001);
    expect(messageType(Method.BINDING, MessageClass.SUCCESS)).toBe(0x0101);
    expect(messageType(Method.BINDING, MessageClass.ERROR)).toBe(0x0111);
    expect(messageType(Method.ALLOCATE, MessageClass.REQUEST)).toBe(0x0003);
    expect(messageType(Method.ALLOCATE, MessageClass.ERROR)).toBe(0x0113);
    expect(messageType(Method.SEND, MessageClass.INDICATION)).toBe(0x0016);
    expect(messageType(Method.DATA, MessageClass.INDICATION)).toBe(0x0017);
    expect(messageType(Method.CHANNEL_BIND, MessageClass.SUCCESS)).toBe(0x0109);
    for (let m = 0; m < 0x1000; m += 7) {
      for (const c of Object.values(MessageClass)) {
        const t = messageType(m, c);
        expect(t & 0xc000).toBe(0);
        expect(methodOf(t)).toBe(m);
        expect(classOf(t)).toBe(c);
      }
    }
  });
});

describe('builder + parser round trips', () => {
  it('every attribute helper', () => {
    const tid = newTransactionId();
    const buf = new StunMessageBuilder(Method.ALLOCATE, MessageClass.ERROR, tid)
      .addString(Attr.USERNAME, 'alice')
      .addString(Attr.REALM, 'stunner.l7mp.io')
      .addString(Attr.NONCE, 'abc')
      .addString(Attr.SOFTWARE, 'ünïcødé')
      .addUint32(Attr.LIFETIME, 600)
      .addUint64(Attr.RESERVATION_TOKEN, 0x0102030405060708n)
      .addErrorCode(ErrorCode.STALE_NONCE)
      .addErrorCode(599, 'custom')
      .addUnknownAttributes([0x7777, 0x0031])
      .addChannelNumber(0x4001)
      .addRequestedTransport(17)
      .addAddressFamily(6)
      .addAddressFamily(4, Attr.ADDITIONAL_ADDRESS_FAMILY)
      .addEvenPort(true)
      .addFlag(Attr.DONT_FRAGMENT)
      .addBuffer(Attr.DATA, Buffer.from([1, 2, 3, 4, 5]))
      .addXorAddress(Attr.XOR_PEER_ADDRESS, { family: 4, address: '10.1.2.3', port: 5000 })
      .addAddress(Attr.MAPPED_ADDRESS, { family: 4, address: '192.168.0.1', port: 1 })
      .addAddress(Attr.ALTERNATE_SERVER, { family: 6, address: '::1', port: 3478 })
      .build({ fingerprint: true });
    const m = parse(buf);
    expect(m.length).toBe(buf.length);
    expect(m.method).toBe(Method.ALLOCATE);
    expect(m.cls).toBe(MessageClass.ERROR);
    expect(m.transactionId().equals(tid)).toBe(true);
    expect(m.transactionId().buffer).toBe(buf.buffer); // a view, not a copy
    expect(m.transactionKey()).toBe(tid.toString('hex'));
    expect(decodeString(m, m.get(Attr.USERNAME)!)).toBe('alice');
    expect(decodeString(m, m.get(Attr.REALM)!)).toBe('stunner.l7mp.io');
    expect(decodeString(m, m.get(Attr.NONCE)!)).toBe('abc');
    expect(decodeString(m, m.get(Attr.SOFTWARE)!)).toBe('ünïcødé');
    expect(readUint32(m, m.get(Attr.LIFETIME)!)).toBe(600);
    expect(readUint64(m, m.get(Attr.RESERVATION_TOKEN)!)).toBe(0x0102030405060708n);
    expect(decodeErrorCode(m, m.get(Attr.ERROR_CODE)!)).toEqual({ code: 438, reason: 'Stale Nonce' });
    const errs = m.attributes.filter((a) => a.type === Attr.ERROR_CODE);
    expect(decodeErrorCode(m, errs[1]!)).toEqual({ code: 599, reason: 'custom' });
    expect(decodeUnknownAttributes(m, m.get(Attr.UNKNOWN_ATTRIBUTES)!)).toEqual([0x7777, 0x0031]);
    expect(decodeChannelNumber(m, m.get(Attr.CHANNEL_NUMBER)!)).toBe(0x4001);
    expect(decodeRequestedTransport(m, m.get(Attr.REQUESTED_TRANSPORT)!)).toBe(17);
    expect(decodeAddressFamily(m, m.get(Attr.REQUESTED_ADDRESS_FAMILY)!)).toBe(6);
    expect(decodeAddressFamily(m, m.get(Attr.ADDITIONAL_ADDRESS_FAMILY)!)).toBe(4);
    expect(decodeEvenPort(m, m.get(Attr.EVEN_PORT)!)).toBe(true);
    expect(m.get(Attr.DONT_FRAGMENT)!.length).toBe(0);
    const data = m.value(Attr.DATA)!;
    expect([...data]).toEqual([1, 2, 3, 4, 5]);
    expect(data.buffer).toBe(buf.buffer);
    expect(decodeXorAddress(m, m.get(Attr.XOR_PEER_ADDRESS)!)).toEqual({
      family: 4,
      address: '10.1.2.3',
      port: 5000,
    });
    expect(decodeAddress(m, m.get(Attr.MAPPED_ADDRESS)!)).toEqual({
      family: 4,
      address: '192.168.0.1',
      port: 1,
    });
    expect(decodeAddress(m, m.get(Attr.ALTERNATE_SERVER)!)).toEqual({
      family: 6,
      address: '::1',
      port: 3478,
    });
    expect(verifyFingerprint(m)).toBe('ok');
    expect(hasIntegrity(m)).toBe(false);
    expect(verifyIntegrity(m, KEY)).toBe(false);
    expect(m.unknownRequired()).toEqual([]);
  });

  it('EVEN-PORT without the R bit, error codes without reason', () => {
    const m = parse(
      new StunMessageBuilder(Method.ALLOCATE, MessageClass.ERROR, newTransactionId())
        .addEvenPort(false)
        .addErrorCode(ErrorCode.FORBIDDEN, '')
        .build(),
    );
    expect(decodeEvenPort(m, m.get(Attr.EVEN_PORT)!)).toBe(false);
    expect(decodeErrorCode(m, m.get(Attr.ERROR_CODE)!)).toEqual({ code: 403, reason: '' });
  });

  const addrs: TransportAddress[] = [
    { family: 4, address: '0.0.0.0', port: 0 },
    { family: 4, address: '255.255.255.255', port: 65535 },
    { family: 4, address: '127.0.0.1', port: 3478 },
    { family: 6, address: '::', port: 1 },
    { family: 6, address: '::1', port: 2 },
    { family: 6, address: '2001:db8::1', port: 3 },
    { family: 6, address: '2001:db8::', port: 4 },
    { family: 6, address: 'fe80::1:0:0:1', port: 5 },
    { family: 6, address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
    { family: 6, address: '::ffff:10.0.0.1', port: 6 },
    { family: 6, address: '1:0:0:2::3', port: 7 },
    { family: 6, address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 8 },
  ];
  for (const a of addrs) {
    it(`XOR and plain address round trip ${a.address} port ${a.port}`, () => {
      for (const type of [Attr.XOR_MAPPED_ADDRESS, Attr.XOR_PEER_ADDRESS, Attr.XOR_RELAYED_ADDRESS]) {
        const tid = newTransactionId();
        const buf = new StunMessageBuilder(Method.BINDING, MessageClass.SUCCESS, tid)
          .addXorAddress(type, a)
          .addAddress(Attr.MAPPED_ADDRESS, a)
          .build();
        const m = parse(buf);
        expect(decodeXorAddress(m, m.get(type)!)).toEqual(a);
        expect(decodeAddress(m, m.get(Attr.MAPPED_ADDRESS)!)).toEqual(a);
      }
    });
  }

  it('normalizes IPv6 text the way Node prints socket addresses', () => {
    const b = Buffer.alloc(16);
    for (const [input, out] of [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['0:0:0:0:0:ffff:7f00:1', '::ffff:127.0.0.1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ] as const) {
      expect(writeIPv6(input, b, 0), input).toBe(true);
      expect(formatIPv6(b, 0)).toBe(out);
    }
    for (const bad of [
      '',
      ':',
      ':::',
      '1:2',
      '1::2::3',
      '12345::',
      'g::',
      '1:2:3:4:5:6:7:8:9',
      '::1.2.3',
      '1:',
    ]) {
      expect(writeIPv6(bad, b, 0), bad).toBe(false);
    }
  });

  it('formats random IPv6 addresses exactly as the WHATWG URL parser does', () => {
    let seed = 42;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    const b = Buffer.alloc(16);
    const back = Buffer.alloc(16);
    for (let n = 0; n < 2000; n++) {
      // Mostly zero groups so that runs of zeros of every length occur.
      for (let k = 0; k < 8; k++) b.writeUInt16BE(rnd() % 3 === 0 ? rnd() : 0, 2 * k);
      if (n % 50 === 0) b.writeUInt32BE(0xffff, 8);
      const text = formatIPv6(b, 0);
      if (!text.startsWith('::ffff:')) expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
      expect(writeIPv6(text, back, 0)).toBe(true);
      expect(back.equals(b)).toBe(true);
    }
  });

  it('rejects an address that does not match its family', () => {
    const b = new StunMessageBuilder(Method.BINDING, MessageClass.SUCCESS, newTransactionId());
    expect(() => b.addXorAddress(Attr.XOR_MAPPED_ADDRESS, { family: 4, address: '::1', port: 1 })).toThrow(
      /not an IPv4 address/,
    );
    expect(() =>
      b.addXorAddress(Attr.XOR_MAPPED_ADDRESS, { family: 4, address: '1.2.3.04', port: 1 }),
    ).toThrow();
    expect(() =>
      b.addXorAddress(Attr.XOR_MAPPED_ADDRESS, { family: 6, address: '1.2.3.4', port: 1 }),
    ).toThrow();
    expect(() =>
      b.addXorAddress(Attr.XOR_MAPPED_ADDRESS, { family: 4, address: '1.2.3.4', port: 70000 }),
    ).toThrow(/bad port/);
  });

  it('parses a message at an offset inside a larger buffer', () => {
    const inner = new StunMessageBuilder(Method.BINDING, MessageClass.REQUEST, newTransactionId())
      .addString(Attr.USERNAME, 'x')
      .build({ integrityKey: KEY, fingerprint: true });
    const outer = Buffer.concat([Buffer.from([9, 9, 9]), inner, Buffer.from([7])]);
    const m = parse(outer, 3, 3 + inner.length);
    expect(decodeString(m, m.get(Attr.USERNAME)!)).toBe('x');
    expect(verifyIntegrity(m, KEY)).toBe(true);
    expect(verifyFingerprint(m)).toBe('ok');
    expect(looksLikeStun(outer, 3)).toBe(true);
    expect(looksLikeStun(outer, 0)).toBe(false);
  });
});

describe('integrity', () => {
  const build = (opts: Parameters<StunMessageBuilder['build']>[0]) =>
    new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, newTransactionId())
      .addString(Attr.USERNAME, 'bob')
      .addRequestedTransport(17)
      .build(opts);

  it('HMAC-SHA1 with and without FINGERPRINT', () => {
    for (const fingerprint of [false, true]) {
      const m = parse(build({ integrityKey: KEY, fingerprint }));
      expect(hasIntegrity(m)).toBe(true);
      expect(integrityKind(m)).toBe('sha1');
      expect(verifyIntegrity(m, KEY)).toBe(true);
      expect(verifyIntegrity(m, Buffer.from('0123456789abcdeF'))).toBe(false);
      expect(verifyFingerprint(m)).toBe(fingerprint ? 'ok' : 'absent');
    }
  });

  it('MESSAGE-INTEGRITY-SHA256, alone and after MESSAGE-INTEGRITY', () => {
    const only = parse(build({ integritySha256Key: KEY, fingerprint: true }));
    expect(integrityKind(only)).toBe('sha256');
    expect(verifyIntegrity(only, KEY)).toBe(true);
    expect(verifyIntegrity(only, Buffer.from('nope'))).toBe(false);
    const both = parse(build({ integrityKey: KEY, integritySha256Key: KEY, fingerprint: true }));
    expect(integrityKind(both)).toBe('sha256');
    expect(verifyIntegrity(both, KEY)).toBe(true);
    expect(verifyFingerprint(both)).toBe('ok');
  });

  it('accepts a truncated MESSAGE-INTEGRITY-SHA256 computed independently', () => {
    // Hand-built: header + USERNAME + MI-SHA256 truncated to 16 bytes, HMAC computed here.
    const tid = newTransactionId();
    const head = Buffer.alloc(20);
    head.writeUInt16BE(0x0001, 0);
    head.writeUInt32BE(0x2112a442, 4);
    tid.copy(head, 8);
    const user = Buffer.from([0x00, 0x06, 0x00, 0x04, 0x61, 0x62, 0x63, 0x64]);
    head.writeUInt16BE(user.length + 4 + 16, 2);
    const mac = createHmac('sha256', KEY)
      .update(Buffer.concat([head, user]))
      .digest()
      .subarray(0, 16);
    const msg = Buffer.concat([head, user, Buffer.from([0x00, 0x1c, 0x00, 0x10]), mac]);
    const m = parse(msg);
    expect(verifyIntegrity(m, KEY)).toBe(true);
    msg[msg.length - 1]! ^= 1;
    expect(verifyIntegrity(parse(msg), KEY)).toBe(false);
  });

  it('verifies without writing to the received buffer', () => {
    const buf = build({ integrityKey: KEY, fingerprint: true });
    const before = Buffer.from(buf);
    const m = parse(buf);
    expect(verifyIntegrity(m, KEY)).toBe(true);
    expect(verifyIntegrity(m, Buffer.from('x'))).toBe(false);
    expect(verifyFingerprint(m)).toBe('ok');
    expect(buf.equals(before)).toBe(true);
  });

  it('transaction keys tell transactions apart', () => {
    const a = parse(build({}));
    const b = parse(build({}));
    expect(a.transactionKey()).not.toBe(b.transactionKey());
    expect(a.transactionKey()).toBe(parse(Buffer.from(a.buf)).transactionKey());
  });

  it('rejects a MESSAGE-INTEGRITY of the wrong length', () => {
    const tid = newTransactionId();
    const buf = new StunMessageBuilder(Method.BINDING, MessageClass.REQUEST, tid)
      .addBuffer(Attr.MESSAGE_INTEGRITY, Buffer.alloc(16))
      .build();
    expect(verifyIntegrity(parse(buf), KEY)).toBe(false);
    const sha = new StunMessageBuilder(Method.BINDING, MessageClass.REQUEST, tid)
      .addBuffer(Attr.MESSAGE_INTEGRITY_SHA256, Buffer.alloc(12))
      .build();
    expect(verifyIntegrity(parse(sha), KEY)).toBe(false);
  });

  it('ignores attributes after MESSAGE-INTEGRITY (except FINGERPRINT)', () => {
    const signed = build({ integrityKey: KEY });
    // Append a LIFETIME and an unknown required attribute after MI, fix the length field.
    const extra = Buffer.from([0x00, 0x0d, 0x00, 0x04, 0, 0, 0, 9, 0x00, 0x7f, 0x00, 0x00]);
    const tampered = Buffer.concat([signed, extra]);
    tampered.writeUInt16BE(tampered.length - 20, 2);
    const m = parse(tampered);
    expect(m.attributes.length).toBe(5);
    expect(m.get(Attr.LIFETIME)).toBeUndefined();
    expect(m.unknownRequired()).toEqual([]);
    // The HMAC is over the part before MI with the length adjusted: still valid.
    expect(verifyIntegrity(m, KEY)).toBe(true);
  });
});

describe('unknown attributes', () => {
  it('reports unknown comprehension-required types once each, ignores optional ones', () => {
    const m = parse(
      new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, newTransactionId())
        .addBuffer(0x0031, Buffer.alloc(0))
        .addBuffer(0x7fff, Buffer.from([1]))
        .addBuffer(0xc001, Buffer.from([1, 2]))
        .addBuffer(0x0031, Buffer.alloc(4))
        .addRequestedTransport(17)
        .build(),
    );
    expect(m.unknownRequired()).toEqual([0x0031, 0x7fff]);
    expect(KNOWN_ATTRIBUTES.has(Attr.REQUESTED_TRANSPORT)).toBe(true);
  });
});

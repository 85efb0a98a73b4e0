/**
 * Malformed input: generated truncated, mutated and random STUN messages and stream chunks
 * (deterministic PRNG, fixed seed, bounded counts). Nothing may throw; specific malformations
 * must give specific errors; a changed signed byte must never verify.
 */
import { describe, expect, it } from 'vitest';
import {
  Attr,
  attributeValue,
  channelDataHeader,
  decodeAddress,
  decodeAddressFamily,
  decodeChannelNumber,
  decodeErrorCode,
  decodeEvenPort,
  decodeRequestedTransport,
  decodeString,
  decodeUnknownAttributes,
  decodeXorAddress,
  integrityKind,
  isParseError,
  looksLikeStun,
  MAX_ATTRIBUTES,
  MessageClass,
  Method,
  parseStunMessage,
  readUint32,
  readUint64,
  StreamFramer,
  type StunMessage,
  StunMessageBuilder,
  streamFrameLength,
  verifyFingerprint,
  verifyIntegrity,
} from '../../../runtime/stun/index.js';
import { type Prng, prng } from '../../helpers/prng.js';

const KEY = Buffer.from('fuzz-key-0123456');
const TID = Buffer.from('000102030405060708090a0b', 'hex');

function seeds(): Buffer[] {
  const b = (m: number, c: number) => new StunMessageBuilder(m, c, TID);
  return [
    b(Method.BINDING, MessageClass.REQUEST).build({ fingerprint: true }),
    b(Method.ALLOCATE, MessageClass.REQUEST)
      .addRequestedTransport(17)
      .addString(Attr.USERNAME, 'user')
      .addString(Attr.REALM, 'realm')
      .addString(Attr.NONCE, '0123456789abcdef')
      .addAddressFamily(6)
      .addEvenPort(true)
      .addFlag(Attr.DONT_FRAGMENT)
      .build({ integrityKey: KEY, fingerprint: true }),
    b(Method.ALLOCATE, MessageClass.SUCCESS)
      .addXorAddress(Attr.XOR_RELAYED_ADDRESS, { family: 6, address: '2001:db8::7', port: 50000 })
      .addXorAddress(Attr.XOR_MAPPED_ADDRESS, { family: 4, address: '10.0.0.1', port: 1234 })
      .addUint32(Attr.LIFETIME, 600)
      .addUint64(Attr.RESERVATION_TOKEN, 7n)
      .build({ integritySha256Key: KEY }),
    b(Method.CREATE_PERMISSION, MessageClass.ERROR)
      .addErrorCode(420)
      .addUnknownAttributes([0x7000, 0x0033])
      .build({ integrityKey: KEY, integritySha256Key: KEY, fingerprint: true }),
    b(Method.SEND, MessageClass.INDICATION)
      .addXorAddress(Attr.XOR_PEER_ADDRESS, { family: 4, address: '127.0.0.1', port: 9 })
      .addBuffer(Attr.DATA, Buffer.from('hello, world'))
      .build(),
    b(Method.CHANNEL_BIND, MessageClass.REQUEST)
      .addChannelNumber(0x4000)
      .addXorAddress(Attr.XOR_PEER_ADDRESS, { family: 6, address: '::1', port: 9 })
      .addAddress(Attr.ALTERNATE_SERVER, { family: 6, address: '::ffff:1.2.3.4', port: 1 })
      .build({ integrityKey: KEY }),
  ];
}

/** Calls every reader on a message; returns a count so the work is not optimized away. */
function exercise(m: StunMessage): number {
  let n = 0;
  n += m.transactionId().length + m.transactionKey().length + m.unknownRequired().length;
  if (verifyIntegrity(m, KEY)) n++;
  n += verifyFingerprint(m).length + (integrityKind(m)?.length ?? 0);
  for (const a of m.attributes) {
    n += attributeValue(m, a).length;
    for (const f of [
      decodeXorAddress,
      decodeAddress,
      decodeErrorCode,
      readUint32,
      readUint64,
      decodeString,
      decodeChannelNumber,
      decodeRequestedTransport,
      decodeAddressFamily,
      decodeEvenPort,
      decodeUnknownAttributes,
    ] as const) {
      if ((f as (m: StunMessage, a: (typeof m.attributes)[number]) => unknown)(m, a) !== undefined) n++;
    }
  }
  for (const t of Object.values(Attr)) if (m.value(t) !== undefined) n++;
  return n;
}

function mutate(rnd: Prng, base: Buffer): Buffer {
  const r = rnd.int;
  const b = Buffer.from(base);
  switch (r(9)) {
    case 0: // truncate
      return b.subarray(0, r(b.length));
    case 1: {
      // flip 1-4 random bytes
      for (let k = 1 + r(4); k > 0; k--) b[r(b.length)] = r(256);
      return b;
    }
    case 2: // random message length field
      if (b.length >= 4) b.writeUInt16BE(r(0x10000), 2);
      return b;
    case 3: {
      // random attribute length at an attribute-aligned offset
      if (b.length >= 24) b.writeUInt16BE(r(0x10000), 20 + 4 * r(Math.floor((b.length - 20) / 4)) + 2);
      return b;
    }
    case 4: // append junk, length fixed up half of the time
      {
        const out = Buffer.concat([b, rnd.bytes(r(40))]);
        if (rnd() < 0.5 && out.length - 20 < 0x10000) out.writeUInt16BE((out.length - 20) & 0xffff, 2);
        return out;
      }
    case 5: {
      // random bytes with a valid-looking STUN header
      const out = rnd.bytes(20 + 4 * r(30));
      out[0]! &= 0x3f;
      out.writeUInt16BE(out.length - 20, 2);
      out.writeUInt32BE(0x2112a442, 4);
      return out;
    }
    case 6: {
      // entirely random
      return rnd.bytes(r(120));
    }
    case 7: {
      // duplicate a slice into the middle
      const at = r(b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(r(b.length)), b.subarray(at)]);
    }
    default: {
      // zero a byte range
      const s = r(b.length);
      b.fill(0, s, Math.min(b.length, s + r(16)));
      return b;
    }
  }
}

describe('malformed STUN datagrams', () => {
  it('12,000 generated inputs: parse, verify and every reader never throw', () => {
    const rnd = prng(0x5eed1234);
    const base = seeds();
    let parsed = 0;
    let rejected = 0;
    let work = 0;
    for (let i = 0; i < 12_000; i++) {
      let buf = mutate(rnd, base[i % base.length]!);
      if (i % 3 === 0) buf = mutate(rnd, buf);
      // Sometimes parse a window of a larger buffer, including bad windows.
      const start = i % 7 === 0 ? rnd.int(8) : 0;
      const end = i % 11 === 0 ? rnd.int(buf.length + 8) : buf.length;
      looksLikeStun(buf, start);
      streamFrameLength(buf, start);
      const m = parseStunMessage(buf, start, end);
      if (isParseError(m)) {
        expect(typeof m.error).toBe('string');
        expect(m.error.length).toBeGreaterThan(0);
        rejected++;
      } else {
        parsed++;
        work += exercise(m);
      }
    }
    // The generator reaches both outcomes in volume.
    expect(parsed).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(3000);
    expect(work).toBeGreaterThan(0);
  });

  it('any changed byte before MESSAGE-INTEGRITY fails verification; FINGERPRINT catches bytes after', () => {
    const rnd = prng(77);
    const signed = seeds()[1]!;
    const m0 = parseStunMessage(signed) as StunMessage;
    const mi = m0.get(Attr.MESSAGE_INTEGRITY)!;
    expect(verifyIntegrity(m0, KEY)).toBe(true);
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(signed);
      const pos = rnd.int(mi.offset - 4);
      const v = rnd.int(255) + 1;
      b[pos]! ^= v;
      const m = parseStunMessage(b);
      if (isParseError(m)) continue;
      checked++;
      expect(verifyIntegrity(m, KEY), `byte ${pos} ^ ${v}`).toBe(false);
      expect(verifyFingerprint(m), `byte ${pos} ^ ${v}`).not.toBe('ok');
    }
    expect(checked).toBeGreaterThan(1000);
    // A changed byte inside MESSAGE-INTEGRITY: integrity false, FINGERPRINT bad.
    const b = Buffer.from(signed);
    b[mi.offset + 3]! ^= 0x80;
    const m = parseStunMessage(b) as StunMessage;
    expect(verifyIntegrity(m, KEY)).toBe(false);
    expect(verifyFingerprint(m)).toBe('bad');
    // A changed FINGERPRINT value: integrity still holds, FINGERPRINT bad.
    const c = Buffer.from(signed);
    c[c.length - 1]! ^= 1;
    const mc = parseStunMessage(c) as StunMessage;
    expect(verifyIntegrity(mc, KEY)).toBe(true);
    expect(verifyFingerprint(mc)).toBe('bad');
  });

  describe('specific errors', () => {
    const good = seeds()[1]!;
    const err = (b: Buffer, start?: number, end?: number): string => {
      const m = parseStunMessage(b, start, end);
      return isParseError(m) ? m.error : 'parsed';
    };

    it('truncated header', () => {
      for (let n = 0; n < 20; n++)
        expect(err(good.subarray(0, n))).toBe(`truncated header: ${n} of 20 bytes`);
    });
    it('leading bits not zero (e.g. ChannelData or RTP)', () => {
      const b = Buffer.from(good);
      b[0] = 0x40;
      expect(err(b)).toMatch(/first two bits/);
      b[0] = 0x80;
      expect(err(b)).toMatch(/first two bits/);
    });
    it('missing magic cookie (RFC 3489 style)', () => {
      const b = Buffer.from(good);
      b.writeUInt32BE(0x12345678, 4);
      expect(err(b)).toBe('not STUN: magic cookie missing');
    });
    it('length not a multiple of 4', () => {
      const b = Buffer.from(good);
      b.writeUInt16BE(good.length - 20 - 2, 2);
      expect(err(b)).toBe(`message length ${good.length - 22} is not a multiple of 4`);
    });
    it('length beyond the bytes received, and shorter than them', () => {
      expect(err(good.subarray(0, good.length - 4))).toMatch(/exceeds the \d+ bytes received/);
      expect(err(Buffer.concat([good, Buffer.alloc(4)]))).toMatch(/is shorter than the \d+ bytes received/);
    });
    it('attribute overrun', () => {
      const b = Buffer.from(good);
      b.writeUInt16BE(0x0100, 22); // first attribute (REQUESTED-TRANSPORT) claims 256 bytes
      expect(err(b)).toBe('attribute 0x0019 at byte 20 overruns the message (length 256)');
    });
    it('truncated attribute header', () => {
      const b = Buffer.alloc(24);
      b.writeUInt16BE(0x0001, 0);
      b.writeUInt16BE(4, 2);
      b.writeUInt32BE(0x2112a442, 4);
      b.writeUInt16BE(0x0020, 20);
      // 4 bytes hold a header with length 0: fine. Make the body 4 bytes but the header claims 4 more.
      expect(err(b)).toBe('parsed');
      b.writeUInt16BE(1, 22);
      expect(err(b)).toMatch(/overruns the message/);
    });
    it('FINGERPRINT not last', () => {
      const fp = seeds()[0]!;
      const b = Buffer.concat([fp, Buffer.from([0x80, 0x22, 0x00, 0x00])]);
      b.writeUInt16BE(b.length - 20, 2);
      expect(err(b)).toBe('FINGERPRINT is not the last attribute (0x8022 follows)');
    });
    it('too many attributes', () => {
      const many = (n: number) => {
        const b = Buffer.alloc(20 + 4 * n);
        b.writeUInt16BE(0x0001, 0);
        b.writeUInt16BE(4 * n, 2);
        b.writeUInt32BE(0x2112a442, 4);
        for (let i = 0; i < n; i++) b.writeUInt16BE(0x8022, 20 + 4 * i); // empty SOFTWARE
        return b;
      };
      expect(err(many(MAX_ATTRIBUTES))).toBe('parsed');
      expect(err(many(MAX_ATTRIBUTES + 1))).toBe(`more than ${MAX_ATTRIBUTES} attributes`);
      expect(err(many(16383))).toBe(`more than ${MAX_ATTRIBUTES} attributes`);
    });
    it('bad ranges', () => {
      expect(err(good, -1)).toMatch(/invalid range/);
      expect(err(good, 0, good.length + 1)).toMatch(/invalid range/);
      expect(err(good, 10, 5)).toMatch(/invalid range/);
      expect(err(good, 0.5)).toMatch(/invalid range/);
    });
    it('malformed attribute values decode to undefined', () => {
      const m = parseStunMessage(
        new StunMessageBuilder(Method.BINDING, MessageClass.SUCCESS, TID)
          .addBuffer(Attr.XOR_MAPPED_ADDRESS, Buffer.from([0, 1, 0, 0, 1, 2, 3])) // IPv4 with 3 bytes
          .addBuffer(Attr.MAPPED_ADDRESS, Buffer.from([0, 3, 0, 0, 1, 2, 3, 4])) // family 3
          .addBuffer(Attr.ERROR_CODE, Buffer.from([0, 0, 7, 0])) // class 7
          .addBuffer(Attr.LIFETIME, Buffer.from([0, 0, 1]))
          .addBuffer(Attr.REALM, Buffer.alloc(764, 0x61))
          .addBuffer(Attr.REQUESTED_ADDRESS_FAMILY, Buffer.from([3, 0, 0, 0]))
          .addBuffer(Attr.UNKNOWN_ATTRIBUTES, Buffer.from([0, 1, 2]))
          .addBuffer(Attr.EVEN_PORT, Buffer.alloc(0))
          .addBuffer(Attr.CHANNEL_NUMBER, Buffer.from([0x40, 0]))
          .addBuffer(Attr.RESERVATION_TOKEN, Buffer.alloc(4))
          .build(),
      ) as StunMessage;
      const at = (t: number) => m.get(t)!;
      expect(decodeXorAddress(m, at(Attr.XOR_MAPPED_ADDRESS))).toBeUndefined();
      expect(decodeAddress(m, at(Attr.MAPPED_ADDRESS))).toBeUndefined();
      expect(decodeErrorCode(m, at(Attr.ERROR_CODE))).toBeUndefined();
      expect(readUint32(m, at(Attr.LIFETIME))).toBeUndefined();
      expect(decodeString(m, at(Attr.REALM))).toBeUndefined();
      expect(decodeAddressFamily(m, at(Attr.REQUESTED_ADDRESS_FAMILY))).toBeUndefined();
      expect(decodeUnknownAttributes(m, at(Attr.UNKNOWN_ATTRIBUTES))).toBeUndefined();
      expect(decodeEvenPort(m, at(Attr.EVEN_PORT))).toBeUndefined();
      expect(decodeChannelNumber(m, at(Attr.CHANNEL_NUMBER))).toBeUndefined();
      expect(readUint64(m, at(Attr.RESERVATION_TOKEN))).toBeUndefined();
    });
  });
});

describe('malformed streams', () => {
  it('2,000 mutated streams in random chunks: no throw, frames in bounds, at most one error', () => {
    const rnd = prng(0xc0ffee);
    const r = rnd.int;
    const base = seeds();
    const maxFrame = 2048;
    let framesSeen = 0;
    let errorsSeen = 0;
    for (let run = 0; run < 2000; run++) {
      const parts: Buffer[] = [];
      const want = 1 + r(6);
      for (let k = want; k > 0; k--) {
        if (rnd() < 0.5) {
          const data = Buffer.alloc(r(40), run & 0xff);
          parts.push(
            channelDataHeader(0x4000 + r(0x1000), data.length),
            data,
            Buffer.alloc((4 - (data.length % 4)) % 4),
          );
        } else {
          parts.push(base[r(base.length)]!);
        }
      }
      let stream: Buffer = Buffer.concat(parts);
      if (run % 2 === 1) stream = mutate(rnd, stream);
      if (run % 10 === 9) {
        // An oversize frame announced mid-stream.
        stream = Buffer.concat([stream, channelDataHeader(0x4000, 4000), Buffer.alloc(100)]);
      }
      let errors = 0;
      let frames = 0;
      let afterError = 0;
      const f = new StreamFramer(
        (buf, s, e) => {
          if (errors > 0) afterError++;
          frames++;
          expect(s >= 0 && s < e && e <= buf.length).toBe(true);
          expect(e - s).toBeLessThanOrEqual(maxFrame);
          if ((buf[s]! & 0xf0) === 0x40) {
            expect(e - s).toBe(4 + buf.readUInt16BE(s + 2));
          } else {
            const m = parseStunMessage(buf, s, e);
            if (!isParseError(m)) exercise(m);
          }
        },
        () => {
          errors++;
        },
        maxFrame,
      );
      let pos = 0;
      while (pos < stream.length) {
        const n = 1 + r(64);
        f.push(stream.subarray(pos, pos + n));
        expect(f.buffered).toBeLessThanOrEqual(maxFrame + 3);
        pos += n;
      }
      expect(errors).toBeLessThanOrEqual(1);
      expect(afterError).toBe(0);
      if (run % 10 === 9 && errors === 0) {
        // The oversize frame must have been refused unless an earlier mutation swallowed it
        // into a still-incomplete frame.
        expect(f.buffered).toBeGreaterThan(0);
      }
      if (run % 2 === 0 && run % 10 !== 9) {
        expect(errors).toBe(0);
        expect(frames).toBe(want);
      }
      framesSeen += frames;
      errorsSeen += errors;
    }
    expect(framesSeen).toBeGreaterThan(2000);
    expect(errorsSeen).toBeGreaterThan(300);
  });
});

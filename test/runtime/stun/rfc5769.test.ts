/** RFC 5769 test vectors: parsing, MESSAGE-INTEGRITY and FINGERPRINT against published bytes. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  Attr,
  decodeString,
  decodeXorAddress,
  integrityKind,
  longTermKey,
  MessageClass,
  Method,
  parseStunMessage,
  readUint32,
  readUint64,
  StunMessage,
  shortTermKey,
  verifyFingerprint,
  verifyIntegrity,
} from '../../../runtime/stun/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 sec 2.1 Sample Request (short-term password "VOkJxbRl1RmTxUk/WvJxBt").
const SAMPLE_REQUEST = hex(`
  00010058 2112a442 b7e7a701 bc34d686 fa87dfae
  80220010 5354554e 20746573 7420636c 69656e74
  00240004 6e0001ff
  80290008 932ff9b1 51263b36
  00060009 6576746a 3a683676 59202020
  00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  80280004 e57a3bcf`);

// RFC 5769 sec 2.2 Sample IPv4 Response: 192.0.2.1 port 32853.
const IPV4_RESPONSE = hex(`
  0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200008 0001a147 e112a643
  00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  80280004 c07d4c96`);

// RFC 5769 sec 2.3 Sample IPv6 Response: 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
const IPV6_RESPONSE = hex(`
  01010048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  80280004 c8fb0b4c`);

// RFC 5769 sec 2.4 Sample Request with Long-Term Authentication.
const LONG_TERM_REQUEST = hex(`
  00010060 2112a442 78ad3433 c6ad72c0 29da412e
  00060012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
  0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
  0014000b 6578616d 706c652e 6f726700
  00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`);

// RFC 8489 appendix B.1: long-term request with USERHASH, PASSWORD-ALGORITHM (SHA-256) and
// MESSAGE-INTEGRITY-SHA256.
const SHA256_REQUEST = hex(`
  00010090 2112a442 78ad3433 c6ad72c0 29da412e
  001e0020 4a3cf38f ef6992bd a952c678 0417da0f 24819415 569e60b2 05c46e41 407f1704
  00150029 6f624d61 744a6f73 32414141 43662f2f 3439396b 39353464 364f4c33 346f4c39 46535476
           79363473 41000000
  0014000b 6578616d 706c652e 6f726700
  001d0004 00020000
  001c0020 b5c7bf00 5b6c52a2 1c51c5e8 92f81924 136296cb 927c4314 9309278c c6518e65`);

const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

function parse(buf: Buffer): StunMessage {
  const m = parseStunMessage(buf);
  if (!(m instanceof StunMessage)) throw new Error(m.error);
  return m;
}

describe('RFC 5769 (and RFC 8489 B.1) test vectors', () => {
  it('2.1 sample request: attributes, integrity, fingerprint', () => {
    expect(SAMPLE_REQUEST.length).toBe(108);
    const m = parse(SAMPLE_REQUEST);
    expect(m.method).toBe(Method.BINDING);
    expect(m.cls).toBe(MessageClass.REQUEST);
    expect(m.transactionId().toString('hex')).toBe('b7e7a701bc34d686fa87dfae');
    expect(m.attributes.map((a) => a.type)).toEqual([
      Attr.SOFTWARE,
      Attr.PRIORITY,
      Attr.ICE_CONTROLLED,
      Attr.USERNAME,
      Attr.MESSAGE_INTEGRITY,
      Attr.FINGERPRINT,
    ]);
    expect(decodeString(m, m.get(Attr.SOFTWARE)!)).toBe('STUN test client');
    expect(decodeString(m, m.get(Attr.USERNAME)!)).toBe('evtj:h6vY');
    expect(readUint32(m, m.get(Attr.PRIORITY)!)).toBe(0x6e0001ff);
    expect(readUint64(m, m.get(Attr.ICE_CONTROLLED)!)).toBe(0x932ff9b151263b36n);
    expect(verifyIntegrity(m, shortTermKey(PASSWORD))).toBe(true);
    expect(verifyIntegrity(m, shortTermKey('wrong'))).toBe(false);
    expect(verifyFingerprint(m)).toBe('ok');
    expect(m.unknownRequired()).toEqual([]);
  });

  it('2.2 IPv4 response: XOR-MAPPED-ADDRESS, integrity, fingerprint', () => {
    const m = parse(IPV4_RESPONSE);
    expect(m.method).toBe(Method.BINDING);
    expect(m.cls).toBe(MessageClass.SUCCESS);
    expect(decodeString(m, m.get(Attr.SOFTWARE)!)).toBe('test vector');
    expect(decodeXorAddress(m, m.get(Attr.XOR_MAPPED_ADDRESS)!)).toEqual({
      family: 4,
      address: '192.0.2.1',
      port: 32853,
    });
    expect(verifyIntegrity(m, shortTermKey(PASSWORD))).toBe(true);
    expect(verifyFingerprint(m)).toBe('ok');
  });

  it('2.3 IPv6 response: XOR-MAPPED-ADDRESS, integrity, fingerprint', () => {
    const m = parse(IPV6_RESPONSE);
    expect(decodeXorAddress(m, m.get(Attr.XOR_MAPPED_ADDRESS)!)).toEqual({
      family: 6,
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
    expect(verifyIntegrity(m, shortTermKey(PASSWORD))).toBe(true);
    expect(verifyFingerprint(m)).toBe('ok');
  });

  it('2.4 long-term request: username, nonce, realm, MD5 key, integrity', () => {
    const m = parse(LONG_TERM_REQUEST);
    const username = decodeString(m, m.get(Attr.USERNAME)!)!;
    expect(username).toBe('\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9');
    expect(decodeString(m, m.get(Attr.NONCE)!)).toBe('f//499k954d6OL34oL9FSTvy64sA');
    const realm = decodeString(m, m.get(Attr.REALM)!)!;
    expect(realm).toBe('example.org');
    // The password after SASLprep is "TheMatrIX".
    expect(verifyIntegrity(m, longTermKey(username, realm, 'TheMatrIX'))).toBe(true);
    expect(verifyIntegrity(m, longTermKey(username, realm, 'TheMatrix'))).toBe(false);
    expect(verifyFingerprint(m)).toBe('absent');
  });

  it('RFC 8489 B.1: MESSAGE-INTEGRITY-SHA256 with a SHA-256 long-term key', () => {
    expect(SHA256_REQUEST.length).toBe(164);
    const m = parse(SHA256_REQUEST);
    const username = '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9';
    expect(m.attributes.map((a) => a.type)).toEqual([
      Attr.USERHASH,
      Attr.NONCE,
      Attr.REALM,
      Attr.PASSWORD_ALGORITHM,
      Attr.MESSAGE_INTEGRITY_SHA256,
    ]);
    expect(m.value(Attr.USERHASH)!.toString('hex')).toBe(
      createHash('sha256').update(`${username}:example.org`).digest('hex'),
    );
    expect(decodeString(m, m.get(Attr.NONCE)!)).toBe('obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA');
    expect(readUint32(m, m.get(Attr.PASSWORD_ALGORITHM)!)).toBe(0x00020000);
    expect(integrityKind(m)).toBe('sha256');
    expect(verifyIntegrity(m, longTermKey(username, 'example.org', 'TheMatrIX', 'sha256'))).toBe(true);
    expect(verifyIntegrity(m, longTermKey(username, 'example.org', 'TheMatrIX'))).toBe(false);
  });

  it('a flipped bit anywhere before MESSAGE-INTEGRITY fails integrity and fingerprint', () => {
    const miHeader = SAMPLE_REQUEST.length - 8 - 24;
    for (let i = 0; i < miHeader; i++) {
      if (i === 2 || i === 3 || (i >= 4 && i < 8)) continue; // length/cookie changes fail parsing instead
      const b = Buffer.from(SAMPLE_REQUEST);
      b[i]! ^= 0x01;
      const m = parseStunMessage(b);
      if (!(m instanceof StunMessage)) continue; // e.g. an attribute length now overruns
      expect(verifyIntegrity(m, shortTermKey(PASSWORD)), `byte ${i}`).toBe(false);
      expect(verifyFingerprint(m), `byte ${i}`).toBe('bad');
    }
  });
});

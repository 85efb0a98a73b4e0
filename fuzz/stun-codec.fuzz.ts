/**
 * Fuzz target: the STUN/TURN codec (runtime/stun).
 *
 * The first byte picks a mode:
 * - even: the rest is a datagram. parseStunMessage never throws and either rejects it or accepts
 *   exactly a well-formed message; every typed attribute reader, integrity and fingerprint check
 *   runs on what it accepted without throwing; re-encoding the parsed attributes with the builder
 *   gives the same bytes (padding zeroed), and ChannelData recognition agrees with the header.
 * - odd: the rest describes a message (method, class, attributes) that the builder encodes with
 *   MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT; parsing it back gives the same attributes, the
 *   integrity verifies with the key and not with another, the fingerprint is 'ok'.
 * The builder may throw RangeError for values it documents as invalid; nothing else may throw.
 */
import {
  Attr,
  CHANNEL_MAX,
  CHANNEL_MIN,
  channelDataLength,
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
  HEADER_LENGTH,
  integrityKind,
  isChannelData,
  isParseError,
  isValidChannel,
  looksLikeStun,
  methodOf,
  parseStunMessage,
  readUint32,
  readUint64,
  StunMessage,
  StunMessageBuilder,
  streamFrameLength,
  verifyFingerprint,
  verifyIntegrity,
} from '../runtime/stun/index.js';
import { check, show } from './engine/check.js';
import { FuzzInput } from './engine/input.js';

const KEY = Buffer.from('fuzz-integrity-key');
const OTHER_KEY = Buffer.from('another-key');

const ADDRESS_ATTRS = new Set<number>([
  Attr.XOR_MAPPED_ADDRESS,
  Attr.XOR_PEER_ADDRESS,
  Attr.XOR_RELAYED_ADDRESS,
]);
const PLAIN_ADDRESS_ATTRS = new Set<number>([Attr.MAPPED_ADDRESS, Attr.ALTERNATE_SERVER]);
const STRING_ATTRS = new Set<number>([Attr.USERNAME, Attr.REALM, Attr.NONCE, Attr.SOFTWARE]);

/** Reads every attribute with the reader its type calls for; none may throw. */
function readAll(msg: StunMessage): void {
  for (const a of msg.attributes) {
    if (ADDRESS_ATTRS.has(a.type)) {
      const addr = decodeXorAddress(msg, a);
      if (addr) check(addr.port >= 0 && addr.port <= 0xffff, `bad port ${addr.port}`);
    } else if (PLAIN_ADDRESS_ATTRS.has(a.type)) decodeAddress(msg, a);
    else if (STRING_ATTRS.has(a.type)) decodeString(msg, a);
    else if (a.type === Attr.ERROR_CODE) {
      const e = decodeErrorCode(msg, a);
      if (e) check(e.code >= 300 && e.code <= 699, `error code ${e.code} out of range`);
    } else if (a.type === Attr.LIFETIME || a.type === Attr.PRIORITY) readUint32(msg, a);
    else if (a.type === Attr.RESERVATION_TOKEN || a.type === Attr.ICE_CONTROLLED) readUint64(msg, a);
    else if (a.type === Attr.CHANNEL_NUMBER) decodeChannelNumber(msg, a);
    else if (a.type === Attr.REQUESTED_TRANSPORT) decodeRequestedTransport(msg, a);
    else if (a.type === Attr.REQUESTED_ADDRESS_FAMILY || a.type === Attr.ADDITIONAL_ADDRESS_FAMILY) {
      decodeAddressFamily(msg, a);
    } else if (a.type === Attr.EVEN_PORT) decodeEvenPort(msg, a);
    else if (a.type === Attr.UNKNOWN_ATTRIBUTES) decodeUnknownAttributes(msg, a);
  }
  msg.unknownRequired();
  msg.transactionKey();
  integrityKind(msg);
  verifyIntegrity(msg, KEY);
  verifyFingerprint(msg);
}

/** The datagram with every attribute's padding zeroed: what the builder writes. */
function zeroPadding(msg: StunMessage): Buffer {
  const b = Buffer.from(msg.buf.subarray(msg.start, msg.start + msg.length));
  for (const a of msg.attributes) {
    const end = a.offset - msg.start + a.length;
    b.fill(0, end, (end + 3) & ~3);
  }
  return b;
}

function datagram(data: Buffer): void {
  const r = parseStunMessage(data);
  const cd = isChannelData(data);
  check(!(cd && !isParseError(r)), 'a ChannelData frame parsed as STUN');
  if (data.length >= 4) {
    const len = channelDataLength(data, 0, data.length);
    if (len >= 0) check(4 + len <= data.length, `ChannelData length ${len} beyond ${data.length} bytes`);
    const fl = streamFrameLength(data, 0);
    if (fl !== undefined) check(fl >= 4 && fl <= HEADER_LENGTH + 0xffff, `stream frame length ${fl}`);
  }
  if (isParseError(r)) {
    check(typeof r.error === 'string' && r.error.length > 0 && r.error.length < 300, 'bad parse error text');
    return;
  }
  check(r instanceof StunMessage, 'parse returned neither a message nor an error');
  check(looksLikeStun(data), 'parsed a message that looksLikeStun rejects');
  check(r.length === data.length && r.length === HEADER_LENGTH + data.readUInt16BE(2), 'length mismatch');
  check(r.attributes.length <= 512, 'more attributes than MAX_ATTRIBUTES');
  let end = HEADER_LENGTH;
  for (const a of r.attributes) {
    check(a.offset === end + 4 && a.offset + a.length <= data.length, `attribute at ${a.offset} misplaced`);
    end = a.offset + ((a.length + 3) & ~3);
  }
  check(end === data.length, 'attributes do not cover the message');
  readAll(r);
  // decode then encode: the builder reproduces the datagram (padding is zero on the way out)
  const b = new StunMessageBuilder(r.method, r.cls, Buffer.from(r.transactionId()));
  for (const a of r.attributes) b.addBuffer(a.type, data.subarray(a.offset, a.offset + a.length));
  const again = b.build();
  const want = zeroPadding(r);
  check(again.equals(want), () => `re-encoded ${show(again)} != ${show(want)}`);
  check(methodOf(r.type) === r.method && classOf(r.type) === r.cls, 'type split');
}

const METHODS = [0x001, 0x003, 0x004, 0x006, 0x007, 0x008, 0x009];
const CLASSES = [0x000, 0x010, 0x100, 0x110];
const ATTR_TYPES = Object.values(Attr).filter(
  (t) => t !== Attr.MESSAGE_INTEGRITY && t !== Attr.MESSAGE_INTEGRITY_SHA256 && t !== Attr.FINGERPRINT,
);

function structured(inp: FuzzInput): void {
  const method = inp.bool() ? inp.pick(METHODS) : inp.u16() & 0xfff;
  const cls = inp.pick(CLASSES);
  const txid = Buffer.alloc(12);
  inp.bytes(12).copy(txid);
  const b = new StunMessageBuilder(method, cls, txid);
  const attrs: { type: number; value: Buffer }[] = [];
  const n = inp.int(12);
  for (let i = 0; i < n; i++) {
    const type = inp.bool() ? inp.pick(ATTR_TYPES) : inp.u16();
    if (
      type === Attr.MESSAGE_INTEGRITY ||
      type === Attr.MESSAGE_INTEGRITY_SHA256 ||
      type === Attr.FINGERPRINT
    ) {
      continue;
    }
    const choice = inp.int(6);
    try {
      if (choice === 0) {
        const port = inp.u16();
        const v6 = inp.bool();
        const raw = inp.bytes(v6 ? 16 : 4);
        const address = v6
          ? (raw.toString('hex').padEnd(32, '0').match(/.{4}/g) ?? []).join(':')
          : [...raw, 0, 0, 0, 0].slice(0, 4).join('.');
        b.addXorAddress(Attr.XOR_PEER_ADDRESS, { family: v6 ? 6 : 4, address, port });
        attrs.push({ type: Attr.XOR_PEER_ADDRESS, value: Buffer.alloc(0) });
      } else if (choice === 1) {
        const code = 300 + inp.int(400);
        b.addErrorCode(code);
        attrs.push({ type: Attr.ERROR_CODE, value: Buffer.alloc(0) });
      } else if (choice === 2) {
        const ch = CHANNEL_MIN + inp.int(CHANNEL_MAX - CHANNEL_MIN + 1);
        check(isValidChannel(ch), `channel ${ch}`);
        b.addChannelNumber(ch);
        attrs.push({ type: Attr.CHANNEL_NUMBER, value: Buffer.alloc(0) });
      } else {
        const value = Buffer.from(inp.bytes(inp.int(choice === 5 ? 1200 : 40)));
        b.addBuffer(type, value);
        attrs.push({ type, value });
      }
    } catch (e) {
      if (!(e instanceof RangeError)) throw e; // documented: invalid values are RangeErrors
      return;
    }
  }
  const useSha1 = inp.bool();
  const useSha256 = inp.bool();
  const fingerprint = inp.bool();
  let buf: Buffer;
  try {
    buf = b.build({
      ...(useSha1 ? { integrityKey: KEY } : {}),
      ...(useSha256 ? { integritySha256Key: KEY } : {}),
      fingerprint,
    });
  } catch (e) {
    if (e instanceof RangeError) return; // too long for one message: documented
    throw e;
  }
  const m = parseStunMessage(buf);
  check(!isParseError(m), () => `built message does not parse: ${isParseError(m) ? m.error : ''}`);
  check(m.method === (method & 0xfff) && m.cls === cls, 'method/class round trip');
  check(m.transactionId().equals(txid), 'transaction ID round trip');
  const extra = (useSha1 ? 1 : 0) + (useSha256 ? 1 : 0) + (fingerprint ? 1 : 0);
  check(m.attributes.length === attrs.length + extra, 'attribute count round trip');
  attrs.forEach((a, i) => {
    const got = m.attributes[i]!;
    check(got.type === a.type, `attribute ${i} type`);
    if (a.value.length > 0 || got.length === 0) {
      check(buf.subarray(got.offset, got.offset + got.length).equals(a.value), `attribute ${i} value`);
    }
  });
  if (useSha1 || useSha256) {
    check(verifyIntegrity(m, KEY), 'integrity does not verify with its key');
    check(!verifyIntegrity(m, OTHER_KEY), 'integrity verifies with another key');
  } else check(!verifyIntegrity(m, KEY), 'integrity verifies without the attribute');
  check(verifyFingerprint(m) === (fingerprint ? 'ok' : 'absent'), 'fingerprint');
  readAll(m);
}

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  if ((data[0]! & 1) === 0) datagram(data.subarray(1));
  else structured(new FuzzInput(data.subarray(1)));
}

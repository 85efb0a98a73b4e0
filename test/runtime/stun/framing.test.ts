/** StreamFramer: STUN + ChannelData over a byte stream, split at every possible point. */
import { describe, expect, it } from 'vitest';
import {
  Attr,
  CHANNEL_MAX,
  CHANNEL_MIN,
  channelDataHeader,
  channelDataLength,
  isChannelData,
  MessageClass,
  Method,
  newTransactionId,
  parseStunMessage,
  StreamFramer,
  StunMessage,
  StunMessageBuilder,
  streamFrameLength,
} from '../../../runtime/stun/index.js';

function channelData(channel: number, data: Buffer, pad: boolean): Buffer {
  const padLen = pad ? (4 - (data.length % 4)) % 4 : 0;
  return Buffer.concat([channelDataHeader(channel, data.length), data, Buffer.alloc(padLen)]);
}

function collect(maxFrame?: number) {
  const frames: Buffer[] = [];
  const errors: string[] = [];
  const f = new StreamFramer(
    (buf, s, e) => frames.push(Buffer.from(buf.subarray(s, e))),
    (r) => errors.push(r),
    maxFrame,
  );
  return { f, frames, errors };
}

const stun1 = new StunMessageBuilder(Method.BINDING, MessageClass.REQUEST, newTransactionId()).build({
  fingerprint: true,
});
const stun2 = new StunMessageBuilder(Method.ALLOCATE, MessageClass.REQUEST, newTransactionId())
  .addRequestedTransport(17)
  .addString(Attr.USERNAME, 'someone')
  .build();
const cdEmpty = channelData(0x4000, Buffer.alloc(0), true);
const cd1 = channelData(0x4001, Buffer.from([1]), true);
const cd5 = channelData(0x4fff, Buffer.from([1, 2, 3, 4, 5]), true);
const cd8 = channelData(0x4abc, Buffer.alloc(8, 7), true);
const expected = [stun1, cd1, cdEmpty, stun2, cd5, cd8, cd1];
const unpadded = (b: Buffer) => (isChannelData(b) ? b.subarray(0, 4 + b.readUInt16BE(2)) : b);
const stream = Buffer.concat(expected);

describe('ChannelData helpers', () => {
  it('recognizes ChannelData by its first byte and sizes stream frames with padding', () => {
    expect(isChannelData(cd1)).toBe(true);
    expect(isChannelData(stun1)).toBe(false);
    // RFC 5766's range (0x4000-0x7FFF) is accepted, as coturn's clients use it
    expect(isChannelData(Buffer.from([0x50]))).toBe(true);
    expect(isChannelData(Buffer.from([0x7f]))).toBe(true);
    expect(isChannelData(Buffer.from([0x80]))).toBe(false);
    expect(isChannelData(Buffer.alloc(0))).toBe(false);
    expect(CHANNEL_MIN).toBe(0x4000);
    expect(CHANNEL_MAX).toBe(0x7fff);
    expect(channelDataHeader(0x4123, 300)).toEqual(Buffer.from([0x41, 0x23, 0x01, 0x2c]));
    expect(streamFrameLength(cd5, 0)).toBe(12);
    expect(streamFrameLength(cd8, 0)).toBe(12);
    expect(streamFrameLength(cdEmpty, 0)).toBe(4);
    expect(streamFrameLength(stun2, 0)).toBe(stun2.length);
    expect(streamFrameLength(Buffer.from([0x40, 0, 0]), 0)).toBeUndefined();
    expect(channelDataLength(cd5, 0, cd5.length)).toBe(5);
    expect(channelDataLength(cd5, 0, 9)).toBe(5);
    expect(channelDataLength(cd5, 0, 8)).toBe(-1);
    expect(channelDataLength(cdEmpty, 0, 4)).toBe(0);
    expect(channelDataLength(cd5, 0, 3)).toBe(-1);
    expect(channelDataLength(stun1, 0, stun1.length)).toBe(-1);
    expect(channelDataLength(cd5, 0, cd5.length + 1)).toBe(-1);
    expect(streamFrameLength(Buffer.from([0x80, 0, 0, 0]), 0)).toBeUndefined();
  });
});

describe('StreamFramer', () => {
  it('one chunk: frames are zero-copy views of the chunk', () => {
    const views: Buffer[] = [];
    const f = new StreamFramer(
      (b) => views.push(b),
      (r) => {
        throw new Error(r);
      },
    );
    f.push(stream);
    expect(views.length).toBe(expected.length);
    for (const v of views) expect(v).toBe(stream);
  });

  it('every split point of two chunks and byte-by-byte delivery give the same frames', () => {
    const want = expected.map((b) => unpadded(b).toString('hex'));
    for (let cut = 0; cut <= stream.length; cut++) {
      const { f, frames, errors } = collect();
      f.push(stream.subarray(0, cut));
      f.push(stream.subarray(cut));
      expect(errors).toEqual([]);
      expect(
        frames.map((b) => b.toString('hex')),
        `cut ${cut}`,
      ).toEqual(want);
      expect(f.buffered).toBe(0);
    }
    const { f, frames, errors } = collect();
    for (let i = 0; i < stream.length; i++) f.push(stream.subarray(i, i + 1));
    expect(errors).toEqual([]);
    expect(frames.map((b) => b.toString('hex'))).toEqual(want);
    for (const fr of frames) {
      if (!isChannelData(fr)) expect(parseStunMessage(fr)).toBeInstanceOf(StunMessage);
    }
  });

  it('garbage stops the framer with a reason, and later input is ignored', () => {
    const { f, frames, errors } = collect();
    f.push(Buffer.concat([stun1, Buffer.from([0xc0]), Buffer.from(' / HTTP/1.1\r\n')]));
    expect(frames.length).toBe(1);
    expect(errors.length).toBe(1);
    expect(errors[0]).toMatch(/garbage on stream at byte 28: first byte 0xc0/);
    expect(f.failed).toBe(true);
    f.push(stun1);
    expect(frames.length).toBe(1);
    expect(errors.length).toBe(1);
  });

  it('a STUN header without the magic cookie is garbage', () => {
    const { f, errors } = collect();
    const bad = Buffer.from(stun1);
    bad.writeUInt32BE(0xdeadbeef, 4);
    f.push(bad.subarray(0, 5));
    expect(errors).toEqual([]);
    f.push(bad.subarray(5));
    expect(errors[0]).toMatch(/magic cookie missing/);
  });

  it('a STUN length not a multiple of 4 is an error', () => {
    const { f, errors } = collect();
    const bad = Buffer.from(stun1);
    bad.writeUInt16BE(6, 2);
    f.push(bad);
    expect(errors[0]).toMatch(/STUN length 6 at byte 0 is not a multiple of 4/);
  });

  it('oversize frames are refused before buffering them', () => {
    const { f, errors, frames } = collect(1000);
    f.push(channelDataHeader(0x4000, 997));
    expect(errors[0]).toMatch(/ChannelData frame of 1001 bytes at byte 0 exceeds 1000/);
    expect(f.buffered).toBe(0);
    const s = collect(1000);
    const big = Buffer.alloc(20);
    big.writeUInt16BE(0x0001, 0);
    big.writeUInt16BE(1000, 2);
    big.writeUInt32BE(0x2112a442, 4);
    s.f.push(big);
    expect(s.errors[0]).toMatch(/STUN message of 1020 bytes at byte 0 exceeds 1000/);
    expect(frames.length + s.frames.length).toBe(0);
    // The largest ChannelData fits the default bound.
    const ok = collect();
    ok.f.push(channelData(0x4000, Buffer.alloc(65535), true));
    expect(ok.errors).toEqual([]);
    expect(ok.frames[0]!.length).toBe(65539);
  });
});

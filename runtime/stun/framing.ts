/**
 * Splits a TCP/TLS byte stream into STUN messages and ChannelData frames (RFC 8656 sec 12.5).
 *
 * Frames wholly inside a received chunk are passed on as views of that chunk (no copy); only a
 * frame split across chunks is assembled into its own buffer, which grows with the bytes actually
 * received (doubling, up to the frame's size), never with the length a header announces: a peer
 * that announces 64 KiB and trickles holds what it sent. Memory per connection is bounded by maxFrame.
 */

import { CHANNEL_DATA_HEADER_LENGTH } from './channel-data.js';
import { HEADER_LENGTH, MAGIC_COOKIE } from './constants.js';

export const DEFAULT_MAX_FRAME = 65535 + 4;
/** Smallest buffer for a frame split across chunks. */
const MIN_PARTIAL = 256;

export class StreamFramer {
  private readonly onFrame: (buf: Buffer, start: number, end: number) => void;
  private readonly onError: (reason: string) => void;
  private readonly maxFrame: number;
  /** Bytes of a frame header (< 8) carried over from the previous chunk; never more than one frame's. */
  private readonly head = Buffer.alloc(8);
  private headLen = 0;
  /** A frame being assembled across chunks: its bytes so far, in a buffer that grows as they come. */
  private partial: Buffer | undefined;
  private partialLen = 0;
  /** Padded size of the frame being assembled. */
  private partialTotal = 0;
  /** Frames delivered so far (a connection's deadlines watch it move). */
  frames = 0;
  /** Length of the partial frame without stream padding. */
  private partialFrameEnd = 0;
  private stopped = false;
  private offset = 0;

  /**
   * onFrame gets buf[start, end) holding exactly one STUN message or one ChannelData frame
   * (without its stream padding). buf is the received chunk or a buffer of its own for a frame
   * that spanned chunks; the framer never reuses either, so keeping a view is safe.
   * onError is called once; the framer then ignores further input (close the connection).
   * @param maxFrame largest accepted frame in bytes, excluding padding (default 65539).
   */
  constructor(
    onFrame: (buf: Buffer, start: number, end: number) => void,
    onError: (reason: string) => void,
    maxFrame: number = DEFAULT_MAX_FRAME,
  ) {
    this.onFrame = onFrame;
    this.onError = onError;
    this.maxFrame = maxFrame;
  }

  /** True after an error: the stream cannot be resynchronized. */
  get failed(): boolean {
    return this.stopped;
  }

  /** Bytes held for an incomplete frame (for tests and metrics). */
  get buffered(): number {
    return this.partial !== undefined ? this.partialLen : this.headLen;
  }

  /** Bytes allocated for the incomplete frame (at most twice what arrived, at least 256). */
  get reserved(): number {
    return this.partial?.length ?? 0;
  }

  /** Starts assembling a frame of `total` padded bytes from src[from..to). */
  private startPartial(total: number, src: Buffer, from: number, to: number): void {
    const have = to - from;
    const p = Buffer.allocUnsafe(Math.min(total, Math.max(MIN_PARTIAL, have * 2)));
    src.copy(p, 0, from, to);
    this.partial = p;
    this.partialLen = have;
    this.partialTotal = total;
    this.partialFrameEnd = this.frameEnd;
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    const n = chunk.length;
    let pos = 0;
    // 1. A frame header split across chunks: complete it (4 bytes for ChannelData, 8 for STUN).
    if (this.headLen > 0) {
      const need = (this.head[0]! & 0xc0) === 0x40 ? CHANNEL_DATA_HEADER_LENGTH : 8;
      const take = Math.min(need - this.headLen, n);
      chunk.copy(this.head, this.headLen, 0, take);
      this.headLen += take;
      pos = take;
      if (this.headLen < need) {
        this.offset += n;
        return;
      }
      const total = this.check(this.head, 0, this.headLen, this.offset - (this.headLen - take));
      if (total < 0) return;
      const hl = this.headLen;
      this.headLen = 0;
      if (total === hl) {
        // An empty ChannelData frame: nothing more to wait for.
        this.frames++;
        this.onFrame(Buffer.from(this.head.subarray(0, hl)), 0, this.frameEnd);
        if (this.stopped) return;
      } else {
        this.startPartial(total, this.head, 0, hl);
      }
    }
    // 2. A frame body split across chunks: grow its buffer as the bytes come.
    if (this.partial !== undefined) {
      const take = Math.min(this.partialTotal - this.partialLen, n - pos);
      let p = this.partial;
      if (this.partialLen + take > p.length) {
        const grown = Buffer.allocUnsafe(
          Math.min(this.partialTotal, Math.max(p.length * 2, this.partialLen + take)),
        );
        p.copy(grown, 0, 0, this.partialLen);
        p = grown;
        this.partial = grown;
      }
      chunk.copy(p, this.partialLen, pos, pos + take);
      this.partialLen += take;
      pos += take;
      if (this.partialLen < this.partialTotal) {
        this.offset += n;
        return;
      }
      this.partial = undefined;
      this.frames++;
      this.onFrame(p, 0, this.partialFrameEnd);
      if (this.stopped) return;
    }
    // 3. Frames inside this chunk: zero-copy views.
    while (pos < n) {
      const avail = n - pos;
      const first = chunk[pos]!;
      const isCd = (first & 0xc0) === 0x40;
      if (!isCd && (first & 0xc0) !== 0) {
        this.fail(`garbage on stream at byte ${this.offset + pos}: first byte 0x${first.toString(16)}`);
        return;
      }
      if (avail < (isCd ? CHANNEL_DATA_HEADER_LENGTH : 8)) {
        chunk.copy(this.head, 0, pos, n);
        this.headLen = avail;
        break;
      }
      const total = this.check(chunk, pos, avail, this.offset + pos);
      if (total < 0) return;
      if (total > avail) {
        this.startPartial(total, chunk, pos, n);
        break;
      }
      this.frames++;
      this.onFrame(chunk, pos, pos + this.frameEnd);
      if (this.stopped) return;
      pos += total;
    }
    this.offset += n;
  }

  /** Unpadded length of the frame last sized by check(). */
  private frameEnd = 0;

  /**
   * Sizes the frame starting at b[s] with avail bytes present (>= 8, or >= 4 for ChannelData).
   * Returns the padded total, or -1 after reporting an error.
   */
  private check(b: Buffer, s: number, avail: number, at: number): number {
    const first = b[s]!;
    const len = b.readUInt16BE(s + 2);
    if ((first & 0xc0) === 0x40) {
      const unpadded = CHANNEL_DATA_HEADER_LENGTH + len;
      if (unpadded > this.maxFrame) {
        return this.fail(`ChannelData frame of ${unpadded} bytes at byte ${at} exceeds ${this.maxFrame}`);
      }
      this.frameEnd = unpadded;
      return (unpadded + 3) & ~3;
    }
    if ((first & 0xc0) !== 0) return this.fail(`garbage on stream at byte ${at}: 0x${first.toString(16)}`);
    if (avail >= 8 && b.readUInt32BE(s + 4) !== MAGIC_COOKIE) {
      return this.fail(`garbage on stream at byte ${at}: STUN magic cookie missing`);
    }
    if ((len & 3) !== 0) return this.fail(`STUN length ${len} at byte ${at} is not a multiple of 4`);
    const total = HEADER_LENGTH + len;
    if (total > this.maxFrame)
      return this.fail(`STUN message of ${total} bytes at byte ${at} exceeds ${this.maxFrame}`);
    this.frameEnd = total;
    return total;
  }

  private fail(reason: string): -1 {
    if (!this.stopped) {
      this.stopped = true;
      this.partial = undefined;
      this.headLen = 0;
      this.onError(reason);
    }
    return -1;
  }
}

/**
 * Fuzz target: the ChannelData and stream framer (runtime/stun/framing.ts, as runtime/transport/stream
 * uses it) against a reference model written from RFC 8656 sec 12.5.
 *
 * The input is a byte stream and a way to cut it into chunks (and a frame size limit). Properties:
 * - push() never throws, and onError is called at most once;
 * - the frames delivered are exactly the model's frames, byte for byte, in order, each a view
 *   inside a buffer that is never reused;
 * - the framer fails exactly when the model finds an error in the bytes received;
 * - it never holds more than it received: `buffered` <= the bytes since the last frame boundary.
 * Mode bit set: the stream is built from valid STUN messages and ChannelData frames (then no error
 * may happen and every frame arrives whole).
 */
import { HEADER_LENGTH, MAGIC_COOKIE, StreamFramer } from '../runtime/stun/index.js';
import { check, show } from './engine/check.js';
import { FuzzInput } from './engine/input.js';

const CD_HEADER = 4;

interface Model {
  /** Each frame: its bytes (without stream padding) and where it ends with its padding. */
  frames: { bytes: Buffer; end: number }[];
  /** Byte offset where the stream becomes garbage, or -1. */
  errorAt: number;
  /** How many bytes must have arrived for the error to be visible (1, 4 or 8 past errorAt). */
  errorSeenAt: number;
}

/** Frames the stream holds, and whether it goes bad, as RFC 8656 sec 12.5 describes it. */
function model(s: Buffer, maxFrame: number): Model {
  const frames: Model['frames'] = [];
  const bad = (at: number, need: number): Model => ({ frames, errorAt: at, errorSeenAt: at + need });
  let p = 0;
  while (p < s.length) {
    const first = s[p]!;
    const isCd = (first & 0xc0) === 0x40;
    if (!isCd && (first & 0xc0) !== 0) return bad(p, 1);
    if (s.length - p < (isCd ? CD_HEADER : 8)) break;
    const len = s.readUInt16BE(p + 2);
    let unpadded: number;
    let total: number;
    if (isCd) {
      unpadded = CD_HEADER + len;
      if (unpadded > maxFrame) return bad(p, CD_HEADER);
      total = (unpadded + 3) & ~3;
    } else {
      if (s.readUInt32BE(p + 4) !== MAGIC_COOKIE) return bad(p, 8);
      if ((len & 3) !== 0) return bad(p, 8);
      unpadded = HEADER_LENGTH + len;
      if (unpadded > maxFrame) return bad(p, 8);
      total = unpadded;
    }
    if (s.length - p < total) break;
    frames.push({ bytes: s.subarray(p, p + unpadded), end: p + total });
    p += total;
  }
  return { frames, errorAt: -1, errorSeenAt: -1 };
}

/** A stream of valid frames: STUN messages (cookie, 4-aligned length) and padded ChannelData. */
function validStream(inp: FuzzInput): Buffer {
  const parts: Buffer[] = [];
  const n = 1 + inp.int(8);
  for (let i = 0; i < n; i++) {
    if (inp.bool()) {
      const len = inp.int(64) * 4;
      const m = Buffer.alloc(HEADER_LENGTH + len);
      m.writeUInt16BE(inp.u16() & 0x3fff, 0);
      m.writeUInt16BE(len, 2);
      m.writeUInt32BE(MAGIC_COOKIE, 4);
      inp.bytes(12).copy(m, 8);
      parts.push(m);
    } else {
      const len = inp.int(300);
      const f = Buffer.alloc((CD_HEADER + len + 3) & ~3);
      f.writeUInt16BE(0x4000 | (inp.u16() & 0x3fff), 0);
      f.writeUInt16BE(len, 2);
      inp.bytes(len).copy(f, CD_HEADER);
      parts.push(f);
    }
  }
  return Buffer.concat(parts);
}

export function fuzz(data: Buffer): void {
  const inp = new FuzzInput(data);
  const mode = inp.u8();
  const valid = (mode & 1) === 1;
  const maxFrame = (mode & 2) === 2 ? 64 + inp.int(512) : undefined;
  const cuts: number[] = [];
  const ncuts = inp.int(16);
  for (let i = 0; i < ncuts; i++) cuts.push(1 + (inp.u8() % (mode & 4 ? 7 : 200)));
  const stream = valid ? validStream(inp) : Buffer.from(inp.rest());
  const limit = maxFrame ?? 65535 + 4;

  const got: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  let errors = 0;
  const framer = new StreamFramer(
    (buf, start, end) => {
      check(start >= 0 && end <= buf.length && end > start, `frame [${start}, ${end}) outside ${buf.length}`);
      got.push(Buffer.from(buf.subarray(start, end)));
      buffers.add(buf.buffer);
    },
    (reason) => {
      errors++;
      check(typeof reason === 'string' && reason.length > 0 && reason.length < 300, 'bad error reason');
    },
    maxFrame,
  );

  // push the stream in chunks; chunks are fresh copies, as a socket delivers them
  const m = model(stream, limit);
  let pos = 0;
  let ci = 0;
  while (pos < stream.length) {
    const size = cuts.length > 0 ? cuts[ci++ % cuts.length]! : stream.length;
    const end = Math.min(stream.length, pos + size);
    framer.push(Buffer.from(stream.subarray(pos, end)));
    pos = end;
    let whole = 0;
    let boundary = 0;
    for (const f of m.frames) {
      if (f.end > pos) break;
      whole++;
      boundary = f.end;
    }
    if (m.errorAt >= 0 && m.errorSeenAt <= pos) {
      check(framer.failed, () => `did not fail on garbage at byte ${m.errorAt}`);
    } else {
      check(
        !framer.failed,
        () => `failed on a good prefix of ${pos} bytes: ${show(stream.subarray(0, pos))}`,
      );
      check(got.length === whole, () => `${got.length} frames after ${pos} bytes, the model ${whole}`);
      check(
        framer.buffered <= pos - boundary,
        () => `buffers ${framer.buffered} > ${pos - boundary} received`,
      );
    }
  }
  check(errors <= 1, `onError called ${errors} times`);
  const failed = m.errorAt >= 0 && m.errorSeenAt <= stream.length;
  check(errors === (failed ? 1 : 0), `errors ${errors}, the model errorAt ${m.errorAt}`);
  check(
    got.length === m.frames.length,
    () => `${got.length} frames delivered, the model has ${m.frames.length}`,
  );
  for (let i = 0; i < got.length; i++) {
    check(
      got[i]!.equals(m.frames[i]!.bytes),
      () => `frame ${i}: ${show(got[i])} != ${show(m.frames[i]!.bytes)}`,
    );
  }
  if (valid && m.errorAt < 0) {
    check((m.frames.at(-1)?.end ?? 0) === stream.length, 'a valid stream left an incomplete frame');
  }
  if (framer.failed) {
    framer.push(Buffer.from([0, 1, 0, 0])); // ignored after an error
    check(errors === 1, 'pushed input after an error was not ignored');
  }
}

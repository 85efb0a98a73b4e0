/**
 * TURN ChannelData (RFC 8656 sec 12.4/12.5): 2-byte channel number, 2-byte length, data.
 * Over UDP the padding is optional; over TCP/TLS the frame is padded to a multiple of 4.
 */
import { HEADER_LENGTH } from './constants.js';

/**
 * Channel numbers: RFC 8656 uses 0x4000-0x4FFF; RFC 5766 allowed up to 0x7FFF, and coturn's
 * clients still pick from that range, so it is accepted: ChannelData is any first byte 0x40-0x7F.
 */
export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x7fff;
export const CHANNEL_DATA_HEADER_LENGTH = 4;

/** First byte 0x40..0x7f (top bits 01): a ChannelData frame (STUN messages start with 0b00). */
export function isChannelData(buf: Buffer, start = 0): boolean {
  return start >= 0 && start < buf.length && (buf[start]! & 0xc0) === 0x40;
}

export function isValidChannel(channel: number): boolean {
  return channel >= CHANNEL_MIN && channel <= CHANNEL_MAX;
}

/** Header 4 bytes: channel, length. A 4-byte Buffer from the allocUnsafe pool. */
export function channelDataHeader(channel: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(CHANNEL_DATA_HEADER_LENGTH);
  b.writeUInt16BE(channel & 0xffff, 0);
  b.writeUInt16BE(length & 0xffff, 2);
  return b;
}

/** Writes a ChannelData header into out at off (for callers that reuse one buffer). */
export function writeChannelDataHeader(out: Buffer, off: number, channel: number, length: number): void {
  out.writeUInt16BE(channel & 0xffff, off);
  out.writeUInt16BE(length & 0xffff, off + 2);
}

/**
 * Data length of the ChannelData frame in buf[start, end), or -1 when it is not ChannelData or
 * holds fewer bytes than its length field says (RFC 8656 sec 12.4: discard). Trailing padding
 * (optional over UDP) is allowed.
 */
export function channelDataLength(buf: Buffer, start: number, end: number): number {
  if (start < 0 || end > buf.length || end - start < CHANNEL_DATA_HEADER_LENGTH) return -1;
  if ((buf[start]! & 0xf0) !== 0x40) return -1;
  const len = buf.readUInt16BE(start + 2);
  return len > end - start - CHANNEL_DATA_HEADER_LENGTH ? -1 : len;
}

/**
 * Total frame length on a stream transport, including padding to 4 for ChannelData
 * (RFC 8656 sec 12.5). Undefined when fewer than 4 bytes are available or the first byte
 * starts neither STUN (0b00) nor ChannelData (0x40-0x4f).
 */
export function streamFrameLength(buf: Buffer, start: number): number | undefined {
  if (start < 0 || buf.length - start < 4) return undefined;
  const first = buf[start]!;
  const len = buf.readUInt16BE(start + 2);
  if ((first & 0xf0) === 0x40) return (CHANNEL_DATA_HEADER_LENGTH + len + 3) & ~3;
  if ((first & 0xc0) === 0) return HEADER_LENGTH + len;
  return undefined;
}

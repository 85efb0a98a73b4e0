/**
 * Splits a TURN-TCP/TLS byte stream into STUN messages and ChannelData frames (RFC 8656 sec 12.5).
 * ChannelData is recognized by its top bits 01 (channels 0x4000-0x7FFF, the RFC 5766 range that
 * coturn's clients still use), STUN by 00. Frames inside one chunk are passed on as views; only
 * a frame split across chunks is copied. Buffered bytes never exceed one frame (<= maxFrame).
 */
const MAGIC_COOKIE = 0x2112a442;

export class TurnStreamFramer {
  private pending: Buffer | undefined;
  private stopped = false;

  constructor(
    private readonly onFrame: (buf: Buffer, start: number, end: number) => void,
    private readonly onError: (reason: string) => void,
    private readonly maxFrame = 65535 + 4,
  ) {}

  get failed(): boolean {
    return this.stopped;
  }

  get buffered(): number {
    return this.pending?.length ?? 0;
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const n = buf.length;
    let pos = 0;
    while (n - pos >= 4) {
      const b0 = buf[pos]!;
      const len = (buf[pos + 2]! << 8) | buf[pos + 3]!;
      let frame: number;
      let total: number;
      if ((b0 & 0xc0) === 0x40) {
        frame = 4 + len;
        total = (frame + 3) & ~3;
      } else if ((b0 & 0xc0) === 0) {
        if ((len & 3) !== 0) {
          this.fail(`STUN length ${len} is not a multiple of 4`);
          return;
        }
        if (n - pos >= 8 && buf.readUInt32BE(pos + 4) !== MAGIC_COOKIE) {
          this.fail('STUN magic cookie missing');
          return;
        }
        frame = 20 + len;
        total = frame;
      } else {
        this.fail(`garbage on stream: first byte 0x${b0.toString(16)}`);
        return;
      }
      if (frame > this.maxFrame) {
        this.fail(`frame of ${frame} bytes exceeds ${this.maxFrame}`);
        return;
      }
      if (n - pos < total) break;
      this.onFrame(buf, pos, pos + frame);
      if (this.stopped) return;
      pos += total;
    }
    if (pos < n) this.pending = Buffer.from(buf.subarray(pos));
  }

  private fail(reason: string): void {
    this.stopped = true;
    this.pending = undefined;
    this.onError(reason);
  }
}

/**
 * Reads a fuzz input as a sequence of decisions, the way a libFuzzer FuzzedDataProvider does, but
 * without its native addon: the same bytes always give the same decisions, and an exhausted input
 * reads as zeros, so every target is total over all byte strings.
 */
export class FuzzInput {
  private pos = 0;

  constructor(readonly data: Buffer) {}

  get remaining(): number {
    return this.data.length - this.pos;
  }

  u8(): number {
    return this.pos < this.data.length ? this.data[this.pos++]! : 0;
  }

  u16(): number {
    return (this.u8() << 8) | this.u8();
  }

  u32(): number {
    return ((this.u16() << 16) | this.u16()) >>> 0;
  }

  bool(): boolean {
    return (this.u8() & 1) === 1;
  }

  /** An integer in [0, n) (n <= 2^32). */
  int(n: number): number {
    if (n <= 1) return 0;
    if (n <= 256) return this.u8() % n;
    if (n <= 65536) return this.u16() % n;
    return this.u32() % n;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Up to n bytes (fewer when the input runs out). */
  bytes(n: number): Buffer {
    const end = Math.min(this.data.length, this.pos + n);
    const b = this.data.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  /** Everything not read yet. */
  rest(): Buffer {
    return this.bytes(this.remaining);
  }
}

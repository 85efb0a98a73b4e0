/**
 * Answers to recent requests by (client, transaction ID), so that a retransmitted request gets the
 * same answer (RFC 8489 sec 6.3.1) instead of, say, 437 for a repeated Allocate. Bounded in size;
 * entries live 40 s (the client's whole retransmission window).
 */
export const RETRANSMIT_TTL_MS = 40_000;
export const RETRANSMIT_MAX_ENTRIES = 10_000;

interface Entry {
  readonly response: Buffer;
  readonly at: number;
}

export class RetransmitCache {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly maxEntries = RETRANSMIT_MAX_ENTRIES) {}

  get(key: string, now: number): Buffer | undefined {
    const e = this.entries.get(key);
    if (e === undefined || now - e.at > RETRANSMIT_TTL_MS) return undefined;
    return e.response;
  }

  set(key: string, response: Buffer, now: number): void {
    if (this.entries.size >= this.maxEntries) {
      // Oldest first: Map iteration is insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(key);
    this.entries.set(key, { response, at: now });
  }

  sweep(now: number): void {
    for (const [k, e] of this.entries) {
      if (now - e.at <= RETRANSMIT_TTL_MS) break;
      this.entries.delete(k);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

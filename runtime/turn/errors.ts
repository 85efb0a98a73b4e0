/**
 * The one error style of turn/: a TURN error code (RFC 8656 sec 18.13) and the reason behind it.
 * Synchronous operations return `T | TurnError`; asynchronous ones reject with a TurnError. The
 * server decides what reaches the wire (see wireReason in server.ts): a 400 carries its reason,
 * other codes their standard phrase, and 508 while draining says "Server Draining".
 */
export class TurnError extends Error {
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(reason);
  }

  get reason(): string {
    return this.message;
  }
}

export function isTurnError(x: unknown): x is TurnError {
  return x instanceof TurnError;
}

/** What a fuzz target throws when a property does not hold (any other exception is a bug found). */
export class PropertyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyViolation';
  }
}

export function check(cond: boolean, message: string | (() => string)): asserts cond {
  if (!cond) throw new PropertyViolation(typeof message === 'string' ? message : message());
}

/** A bounded, printable rendering of a value for a violation message. */
export function show(v: unknown): string {
  const s = Buffer.isBuffer(v) ? v.toString('hex') : (JSON.stringify(v) ?? String(v));
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

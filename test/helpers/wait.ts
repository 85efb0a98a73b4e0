/** Bounded waiting for tests: every wait ends, and says what it waited for when it gives up. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Cond = () => boolean | Promise<boolean>;

/**
 * Polls `cond` every 20 ms until it holds; returns the ms it took, throws after `ms`.
 * Without a description, the condition's source text says what timed out.
 */
export async function until(what: string, cond: Cond, ms?: number): Promise<number>;
export async function until(cond: Cond, ms?: number): Promise<number>;
export async function until(a: string | Cond, b?: Cond | number, c?: number): Promise<number> {
  const [what, cond, ms = 3000] =
    typeof a === 'string' ? [a, b as Cond, c] : [String(a), a, b as number | undefined];
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await sleep(20);
  }
}

/**
 * The operator tools' program: what bin/stunnerctl.mjs and bin/turncat.mjs run, bundled into the
 * package as lib/tools/tools.mjs (build/tools-bundle.ts), or run from the TypeScript sources in a
 * checkout. Each tool loads its own modules when called.
 */

/** `stunnerctl <command> ...`; resolves with the exit code. */
export async function stunnerctl(argv: string[]): Promise<number> {
  const { main } = await import('./stunnerctl/stunnerctl.js');
  return main(argv);
}

/** `turncat <client> <server> <peer>`; resolves with the exit code. */
export async function turncat(argv: string[]): Promise<number> {
  const { main } = await import('./turncat/turncat.js');
  return main(argv);
}

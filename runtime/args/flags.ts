/**
 * The command lines' one flag scanner: `-f v`, `--flag v` and `--flag=v`, in order. Each tool keeps
 * its own switch of flags; this only splits them and hands out values, so that every command
 * reports a missing value the same way.
 */

/** Calls `onFlag` for each argument; `value()` takes the flag's value (`--flag=v` or the next word). */
export function scanFlags(
  argv: readonly string[],
  onFlag: (flag: string, value: () => string, arg: string) => void | 'stop',
  missing: (message: string) => Error = (m) => new Error(m),
): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw missing(`${flag} needs a value`);
      return v;
    };
    if (onFlag(flag, value, arg) === 'stop') return;
  }
}

interface Writer {
  write(text: string): unknown;
}

/**
 * Parses a command line for a tool's `main`: `--help` prints the usage (exit 0), a bad argument
 * prints `<tool>: <reason>` and the usage (exit 2); otherwise the parsed arguments.
 */
export function parseCommandLine<T>(
  tool: string,
  usage: string,
  parse: () => T | 'help',
  io: { readonly stdout: Writer; readonly stderr: Writer },
): { readonly args: T } | { readonly exit: number } {
  try {
    const parsed = parse();
    if (parsed !== 'help') return { args: parsed };
    io.stdout.write(`${usage}\n`);
    return { exit: 0 };
  } catch (e) {
    io.stderr.write(`${tool}: ${(e as Error).message}\n${usage}\n`);
    return { exit: 2 };
  }
}

/**
 * The command lines' one parser, on yargs (tools/README.md says why): per-command help, --version,
 * strict unknown-flag handling and bash/zsh completion, the same in every tool. Commands only
 * declare here; the caller runs what was parsed, so that exit codes stay ours (contract/exit-codes.ts):
 * --help, --version and `completion` exit 0, any usage error prints one line and exits 2.
 */
import yargs, { type Argv } from 'yargs';
import { ExitCode } from '../../contract/exit-codes.js';
import { versionText } from './version.js';

export type { Argv } from 'yargs';

/** A command line that is wrong or incomplete: one line on stderr, exit 2. */
export class UsageError extends Error {}

export interface CliWriter {
  write(text: string): unknown;
}

export interface CliStreams {
  readonly stdout: CliWriter;
  readonly stderr: CliWriter;
}

export interface CommandLine {
  /** The program's name as typed: `stunnerctl`, `stunnerd auth`. */
  readonly tool: string;
  /** The help's first lines (`usage: ...`). */
  readonly usage: string;
  /** Options and commands. */
  readonly build: (y: Argv) => Argv;
  /** Text after the options (exit codes, environment). */
  readonly epilog?: string;
  /** The name the completion script completes (the first word of `tool`). */
  readonly completionName?: string;
  /** Its commands, for the hint after a usage error (`<tool> <command> --help`). */
  readonly commands?: readonly string[];
  /** What its error lines start with. @default tool (and the command) */
  readonly messagePrefix?: string;
}

/** Parsed arguments: yargs' argv, every value as given (strings, booleans, arrays when repeated). */
export type Parsed = { readonly _: readonly string[]; readonly [flag: string]: unknown };

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

function configure(cli: CommandLine): Argv {
  const y = yargs()
    .scriptName(cli.completionName ?? cli.tool)
    .locale('en')
    .detectLocale(false)
    .parserConfiguration({
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'strip-aliased': true,
      'dot-notation': false,
      'greedy-arrays': false,
    })
    .usage(cli.usage)
    .strict()
    .exitProcess(false)
    .showHelpOnFail(false)
    .help('help', 'print this help')
    .alias('help', 'h')
    .version('version', 'print the version of the package and of its runtime bundle', versionText(cli.tool))
    // Answers the scripts' `--get-yargs-completions` with the commands and flags declared here.
    .completion('completion', false)
    .wrap(100);
  const built = cli.build(y);
  return cli.epilog === undefined ? built : built.epilog(cli.epilog);
}

/** The `completion <shell>` command every tool declares. */
export function completionCommand(y: Argv): Argv {
  return y.command('completion <shell>', 'print a shell completion script (bash or zsh)', (c) =>
    c
      .positional('shell', { choices: SHELLS, describe: 'the shell' })
      .example('$0 completion bash >> ~/.bashrc', '')
      .example('$0 completion zsh > "${fpath[1]}/_$0"', ''),
  );
}

/** The completion script for `shell`: yargs' own template, for the tool's name. */
export function completionScript(cli: CommandLine, shell: Shell): string {
  const name = cli.completionName ?? cli.tool;
  // yargs picks the template by $SHELL when an instance is made.
  const saved = { SHELL: process.env.SHELL, ZSH_NAME: process.env.ZSH_NAME };
  process.env.SHELL = `/bin/${shell}`;
  delete process.env.ZSH_NAME;
  let script = '';
  try {
    yargs()
      .scriptName(name)
      .exitProcess(false)
      .completion('completion', false)
      .parse(['completion'], {}, (_e, _a, output) => {
        script = output;
      });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return `${script.replaceAll(`${name} completion >>`, `${name} completion ${shell} >>`).trimEnd()}\n`;
}

type Aliases = Readonly<Record<string, readonly string[]>>;

/** `-x` or `--name` as the user typed it (or one of its aliases). */
function flagAsTyped(name: string, argv: readonly string[], aliases: Aliases = {}): string | undefined {
  for (const n of [name, ...(aliases[name] ?? [])]) {
    const forms = n.length === 1 ? [`-${n}`] : [`--${n}`, `--no-${n}`];
    const hit = argv.find((a) => forms.some((f) => a === f || a.startsWith(`${f}=`)));
    if (hit !== undefined) return hit.split('=')[0];
  }
  return undefined;
}

/** yargs' messages in the tools' own words: flags as typed, one line. */
export function tidyMessage(message: string, argv: readonly string[], aliases: Aliases = {}): string {
  const unknown = /^Unknown arguments?: (.*)$/s.exec(message);
  if (unknown) {
    const names = unknown[1]!.split(', ');
    const flags = names.map((n) => flagAsTyped(n, argv, aliases));
    if (flags.every((f) => f !== undefined))
      return `unknown option${flags.length > 1 ? 's' : ''} ${flags.join(', ')}`;
    const words = names.filter((_n, i) => flags[i] === undefined);
    return `unexpected argument${words.length > 1 ? 's' : ''} ${words.map((w) => `"${w}"`).join(', ')}`;
  }
  const noValue = /^Not enough arguments following: (.*)$/.exec(message);
  if (noValue) return `${flagAsTyped(noValue[1]!, argv, aliases) ?? noValue[1]} needs a value`;
  const choice = /^Invalid values:\s+Argument: (.*), Given: (.*), Choices: (.*)$/s.exec(message);
  if (choice) {
    const flag = flagAsTyped(choice[1]!, argv, aliases) ?? choice[1];
    return `${flag}: ${choice[2]} is not one of ${choice[3]!.replace(/"/g, '').trim()}`;
  }
  const few = /^Not enough non-option arguments: got ([0-9]+), need at least ([0-9]+)$/.exec(message);
  if (few) return `missing arguments: got ${few[1]}, need ${few[2]}`;
  const many = /^Too many non-option arguments: got ([0-9]+), maximum of ([0-9]+)$/.exec(message);
  if (many) return `too many arguments: got ${many[1]}, at most ${many[2]}`;
  const missing = /^Missing required arguments?: (.*)$/.exec(message);
  if (missing)
    return `missing ${missing[1]!
      .split(', ')
      .map((m) => `<${m}>`)
      .join(' ')}`;
  const unknownCommand = /^Unknown command: (.*)$/.exec(message);
  if (unknownCommand) return `unknown command "${unknownCommand[1]}"`;
  return message.split('\n')[0]!;
}

/** The aliases yargs knows (getOptions() is untyped in @types/yargs). */
function aliasesOf(y: Argv): Aliases {
  const o = (y as unknown as { getOptions?: () => { alias?: Aliases } }).getOptions?.();
  return o?.alias ?? {};
}

export type ParseResult =
  | {
      readonly kind: 'args';
      readonly args: Parsed;
      /** A flag as the user typed it (`-p` or `--port`), for messages. */
      readonly typed: (name: string) => string;
    }
  /** --help or --version: the text to print. */
  | { readonly kind: 'output'; readonly text: string }
  /** A usage error, in one line. */
  | { readonly kind: 'error'; readonly message: string };

// yargs reads a lone `-` (stdin, by convention) as an empty flag: it passes through as this.
const DASH = '\u0000-';
const undash = (v: unknown): unknown => (v === DASH ? '-' : Array.isArray(v) ? v.map(undash) : v);

/** Parses `argv` against `cli`; never prints, never exits. */
export function parseArgv(cli: CommandLine, argv: readonly string[]): ParseResult {
  let failure: string | undefined;
  let output = '';
  let parsed: Parsed | undefined;
  let aliases: Aliases = {};
  try {
    const y = configure(cli).fail((msg, err, inst) => {
      aliases = aliasesOf(inst);
      throw new UsageError(msg ?? err?.message ?? 'bad arguments');
    });
    y.parse(
      argv.map((a) => (a === '-' ? DASH : a)),
      {},
      (err, a, out) => {
        if (err) failure = err.message;
        output = out;
        parsed = a as unknown as Parsed;
      },
    );
    aliases = { ...aliasesOf(y), ...aliases };
  } catch (e) {
    failure = (e as Error).message;
  }
  if (failure !== undefined) return { kind: 'error', message: tidyMessage(failure, argv, aliases) };
  if (output !== '') return { kind: 'output', text: `${output.trimEnd()}\n` };
  const args = Object.fromEntries(Object.entries(parsed!).map(([k, v]) => [k, undash(v)])) as Parsed;
  return {
    kind: 'args',
    args: { ...args, _: args._.map(String) },
    typed: (name) => flagAsTyped(name, argv, aliases) ?? (name.length === 1 ? `-${name}` : `--${name}`),
  };
}

/**
 * Parses `argv` for a tool's main. Help, version and `completion <shell>` are printed here (exit
 * 0); a usage error prints `<tool>: <reason>` and where to read more (exit 2). Otherwise the
 * arguments, to run.
 */
export function parseCommandLine(
  cli: CommandLine,
  argv: readonly string[],
  io: CliStreams,
): { readonly args: Parsed; readonly typed: (name: string) => string } | { readonly exit: number } {
  if (argv[0] === 'completion' && argv.length === 2 && (SHELLS as readonly string[]).includes(argv[1]!)) {
    io.stdout.write(completionScript(cli, argv[1] as Shell));
    return { exit: ExitCode.OK };
  }
  if (argv[0] === '--get-yargs-completions') {
    // The completion scripts' call: yargs prints the candidates itself.
    configure(cli).parse([...argv]);
    return { exit: ExitCode.OK };
  }
  const r = parseArgv(cli, argv);
  if (r.kind === 'error') {
    io.stderr.write(usageErrorText(cli, argv, r.message));
    return { exit: ExitCode.USAGE };
  }
  if (r.kind === 'output') {
    io.stdout.write(r.text);
    return { exit: ExitCode.OK };
  }
  return { args: r.args, typed: r.typed };
}

/** `<tool> [command]: <message>` and where the usage is. */
export function usageErrorText(cli: CommandLine, argv: readonly string[], message: string): string {
  const command = cli.commands?.includes(argv[0] ?? '') ? ` ${argv[0]}` : '';
  const prefix = cli.messagePrefix ?? `${cli.tool}${command}`;
  return `${prefix}: ${message}\nrun "${cli.tool}${command} --help" for usage\n`;
}

/** A flag that takes one value (given without one, it is a usage error). */
export function valued(describe: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'string', requiresArg: true, describe, ...extra };
}

/** The last value of a flag given once or more (yargs makes an array of a repeated flag). */
export function lastValue(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length === 0 ? undefined : String(v[v.length - 1]);
  return v === undefined ? undefined : String(v);
}

/** Every value of a repeatable flag. */
export function allValues(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

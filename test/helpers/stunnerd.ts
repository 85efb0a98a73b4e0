/**
 * Starts OUR runtime for tests. `startStunnerd(config)` runs the real CLI (bin/stunnerd.mjs) as a
 * child process from a config object and resolves once it prints `stunnerd ready`;
 * `startStunnerdInProcess(config)` runs the Stunnerd class in this process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../contract/config/index.js';
import { createLogger, type Logger } from '../../runtime/log/logger.js';
import { Relay, type RelayOptions } from '../../runtime/relay/relay.js';

export const STUNNERD_BIN = fileURLToPath(new URL('../../bin/stunnerd.mjs', import.meta.url));

export interface StunnerdProcess {
  readonly proc: ChildProcess;
  /** Path of the config file written for it (rewrite it to test hot reload). */
  readonly configPath: string;
  /** Everything it printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Signals it (default SIGINT: immediate graceful stop) and waits for the exit (SIGKILL after timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** Resolves with the exit code once it exits on its own. */
  exited(): Promise<number | null>;
}

export interface StartOptions {
  /** Extra CLI arguments, e.g. ['--grace-period', '5']. */
  readonly args?: readonly string[];
  /** Log level spec passed with -l. @default 'all:WARN' */
  readonly logLevel?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for `stunnerd ready`. @default 15000 */
  readonly timeoutMs?: number;
  /** Write the config as YAML text as given (string) instead of JSON. */
  readonly raw?: boolean;
  /**
   * The command line before stunnerd's own arguments, e.g. another Node binary with the runtime
   * bundle. @default this Node running bin/stunnerd.mjs (the TypeScript runtime through tsx)
   */
  readonly launcher?: readonly string[];
}

/** Spawns `stunnerd` with arbitrary arguments and waits for `stunnerd ready` (rejects with the output if it exits). */
export async function spawnStunnerd(
  args: readonly string[],
  opts: Omit<StartOptions, 'args' | 'raw'> & { configPath?: string; cleanup?: () => Promise<void> } = {},
): Promise<StunnerdProcess> {
  const [cmd, ...pre] = opts.launcher ?? [process.execPath, STUNNERD_BIN];
  const proc = spawn(cmd!, [...pre, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(opts.env ?? {}) },
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => resolve(code));
  });
  let done = false;
  const stop = async (signal: NodeJS.Signals = 'SIGINT', timeoutMs = 5000): Promise<number | null> => {
    if (!done && proc.exitCode === null && proc.signalCode === null) {
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exit;
      clearTimeout(timer);
    }
    done = true;
    await opts.cleanup?.();
    return proc.exitCode;
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (!out.includes('stunnerd ready')) {
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(`stunnerd did not become ready (exit ${proc.exitCode}):\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, configPath: opts.configPath ?? '', output: () => out, stop, exited: () => exit };
}

/** Writes the config to a temp file and runs `stunnerd -c <file>`. */
export async function startStunnerd(
  config: object | string,
  opts: StartOptions = {},
): Promise<StunnerdProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'stunnerd-test-'));
  const configPath = join(dir, typeof config === 'string' ? 'stunnerd.yaml' : 'stunnerd.json');
  await writeFile(configPath, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return spawnStunnerd(['-c', configPath, '-l', opts.logLevel ?? 'all:WARN', ...(opts.args ?? [])], {
    ...opts,
    configPath,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  });
}

export interface InProcessStunnerd {
  readonly daemon: Relay;
  readonly logger: Logger;
  /** Log lines written so far. */
  readonly lines: string[];
  stop(): Promise<void>;
}

/** Runs the Relay class in this process (config validated by the shared contract). */
export async function startStunnerdInProcess(
  config: object,
  opts: Omit<RelayOptions, 'config' | 'logger'> & { logLevel?: string } = {},
): Promise<InProcessStunnerd> {
  const lines: string[] = [];
  const logger = createLogger(opts.logLevel ?? 'all:INFO', (line) => {
    if (lines.length < 10_000) lines.push(line);
  });
  const daemon = new Relay({ ...opts, config: parseConfig(config), logger });
  await daemon.start();
  return { daemon, logger, lines, stop: () => daemon.stop() };
}

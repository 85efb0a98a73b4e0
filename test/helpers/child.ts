/**
 * A child process a test starts and must stop: its stdout and stderr collected into one string,
 * and a bounded stop that ends in SIGKILL, so that no test leaves a process behind.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

export interface Child {
  readonly proc: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) once it exits. */
  readonly exited: Promise<number | null>;
  running(): boolean;
  /**
   * Unless it has exited: sends `signal` (or runs `signal()`, for a process stopped through another
   * tool), then waits for the exit, sending SIGKILL after `killAfterMs`.
   */
  stop(signal?: NodeJS.Signals | (() => void), killAfterMs?: number): Promise<void>;
}

/** Spawns `cmd` with stdin ignored and stdout and stderr collected. */
export function startChild(cmd: string, args: readonly string[], options: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (d: Buffer): void => {
    out += d.toString();
  };
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const stop = async (
    signal: NodeJS.Signals | (() => void) = 'SIGTERM',
    killAfterMs = 5000,
  ): Promise<void> => {
    if (!running()) return;
    if (typeof signal === 'function') signal();
    else proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(timer);
  };
  return { proc, output: () => out, exited, running, stop };
}

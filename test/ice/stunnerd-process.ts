/**
 * Starts OUR runtime (bin/stunnerd.mjs) as a child process from a config object and waits for its
 * `stunnerd ready` line. Stand-in until the relay engineer's test/helpers/stunnerd.ts lands.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/stunnerd.mjs', import.meta.url).pathname;

export interface RuntimeProcess {
  readonly configPath: string;
  output(): string;
  /** SIGKILL: tests must not wait for a graceful drain of live allocations. */
  stop(): Promise<void>;
}

export async function startRuntime(config: object, timeoutMs = 15_000): Promise<RuntimeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'stunnerd-'));
  const configPath = join(dir, 'stunnerd.json');
  await writeFile(configPath, JSON.stringify(config));
  const proc: ChildProcess = spawn(process.execPath, [BIN, '-c', configPath, '-l', 'all:WARN'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const end = Date.now() + timeoutMs;
  while (!out.includes('stunnerd ready')) {
    if (proc.exitCode !== null || Date.now() > end) {
      await stop();
      throw new Error(`stunnerd did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { configPath, output: () => out, stop };
}

/**
 * STUNner's own programs for the differential tier: where scripts/build-stunner.sh puts them, and
 * how to start STUNner's stunnerd on a config file (`stunnerd -c file://<path>`, no watch) and wait
 * until its listener answers a STUN Binding request. Every wait is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageClass, Method, newTransactionId, StunMessageBuilder } from '../../runtime/stun/index.js';

export const STUNNER_BIN_DIR = fileURLToPath(new URL('../../.stunner-build/bin/', import.meta.url));
const STATUS = fileURLToPath(new URL('../../.stunner-build/status', import.meta.url));

/** The path of one of STUNner's binaries; throws, naming the build script, when it was not built. */
export function stunnerBin(name: 'stunnerd' | 'turncat' | 'icetester' | 'stunner-auth-service'): string {
  const p = join(STUNNER_BIN_DIR, name);
  if (!existsSync(p)) {
    const status = existsSync(STATUS) ? readFileSync(STATUS, 'utf8') : '(no build status)';
    throw new Error(`STUNner's ${name} is not built: run bash scripts/build-stunner.sh\n${status}`);
  }
  return p;
}

/** Whether a binary was built (for the parts that only run when it is). */
export function stunnerBuilt(name: string): boolean {
  return existsSync(join(STUNNER_BIN_DIR, name));
}

export interface GoStunnerd {
  readonly proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Waits until a UDP TURN listener answers a Binding request (resolves false after timeoutMs). */
export async function answersBinding(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((r) => s.bind(0, host, r));
  try {
    return await new Promise<boolean>((resolve) => {
      const probe = () =>
        s.send(
          new StunMessageBuilder(Method.BINDING, MessageClass.REQUEST, newTransactionId()).build(),
          port,
          host,
        );
      const timer = setInterval(probe, 100);
      const deadline = setTimeout(() => {
        clearInterval(timer);
        resolve(false);
      }, timeoutMs);
      s.once('message', () => {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve(true);
      });
      probe();
    });
  } finally {
    s.close();
  }
}

/**
 * Starts STUNner's stunnerd on `config` (written as JSON to a temp file) and resolves once the
 * UDP listener at host:port answers. STUNner drains allocations on SIGTERM without a deadline, so
 * stop() sends SIGKILL after one second.
 */
export async function startGoStunnerd(
  config: object,
  probe: { host: string; port: number },
  timeoutMs = 15_000,
): Promise<GoStunnerd> {
  const dir = await mkdtemp(join(tmpdir(), 'go-stunnerd-'));
  const file = join(dir, 'stunnerd.json');
  await writeFile(file, JSON.stringify(config, null, 2));
  const proc = spawn(stunnerBin('stunnerd'), ['-c', `file://${file}`, '-l', 'all:WARN'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const add = (d: Buffer) => {
    if (out.length < 1_000_000) out += d.toString();
  };
  proc.stdout!.on('data', add);
  proc.stderr!.on('data', add);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 1000);
      await exited;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  if (!(await answersBinding(probe.host, probe.port, timeoutMs))) {
    await stop();
    throw new Error(`STUNner's stunnerd did not answer on ${probe.host}:${probe.port}:\n${out}`);
  }
  return { proc, output: () => out, stop };
}

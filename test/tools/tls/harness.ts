/**
 * Runs the tools against gateways of a dist/ directory, and the gateways themselves as their pods
 * run them (test/constructs/pod-sandbox.ts) on a loopback address: stunnerctl and icetest in
 * process, turncat in process from stdin or as its bin (for what only a new process reads, such as
 * NODE_EXTRA_CA_CERTS). Shared by the TLS tests of test/tools/tls/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main as icetestMain } from '../../../tools/icetest/icetest.js';
import { readGateways } from '../../../tools/sources/gateway-reader.js';
import { main as stunnerctl } from '../../../tools/stunnerctl/stunnerctl.js';
import { main as turncatMain } from '../../../tools/turncat/turncat.js';
import type { Manifest } from '../../constructs/helpers.js';
import { materializePod } from '../../helpers/pod-sandbox.js';
import { until } from '../../helpers/wait.js';

const TURNCAT_BIN = fileURLToPath(new URL('../../../bin/turncat.mjs', import.meta.url));

export interface ToolRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export interface PodOptions {
  /** Stands in for the container's working directory. */
  readonly dir: string;
  /** The pod IP (Downward API): the listeners' `$STUNNER_ADDR`. */
  readonly podIP: string;
  /** The Secrets the manifests name but do not hold: the credentials, cert-manager's TLS Secret. */
  readonly secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const pods: ChildProcess[] = [];

/** Runs a gateway's Deployment as the pod runs it (its bootstrap injects the Secrets at start). */
export async function startPod(objects: Manifest[], deployment: string, o: PodOptions): Promise<void> {
  const sandbox = materializePod(objects, deployment, o);
  const child = spawn(sandbox.command, sandbox.args, {
    cwd: sandbox.cwd,
    env: { PATH: process.env['PATH'] ?? '', ...sandbox.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pods.push(child);
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  await until(
    `${deployment} ready`,
    () => {
      if (child.exitCode !== null) throw new Error(`${deployment} exited with ${child.exitCode}:\n${out}`);
      return out.includes('stunnerd ready');
    },
    20_000,
  );
}

/** Kills every pod startPod started, and waits until each is gone. */
export async function stopPods(): Promise<void> {
  for (const p of pods.splice(0)) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }
}

/** `stunnerctl <argv>`, with a fixed clock. */
export async function ctl(...argv: string[]): Promise<ToolRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await stunnerctl(argv, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    now: () => 1_700_000_000,
  });
  return { code, out: out.join(''), err: err.join('') };
}

/** `stunnerctl icetest`: icetest's main with the gateway reader, as stunnerctl dispatches it. */
export async function icetest(...argv: string[]): Promise<ToolRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d));
  stderr.on('data', (d: Buffer) => (err += d));
  const code = await icetestMain(argv, { stdout, stderr }, readGateways);
  return { code, out, err };
}

/**
 * turncat from stdin: sends `text` once the tunnel is up, waits for its echo, ends the input.
 * A tunnel that fails before it is up returns its exit code and message, nothing sent.
 */
export async function turncatEcho(text: string, ...argv: string[]): Promise<{ code: number; err: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d));
  stderr.on('data', (d: Buffer) => (err += d));
  let ready = false;
  const code = turncatMain(
    ['--linger', '200', ...argv],
    { stdin, stdout, stderr },
    { signals: false, onReady: () => (ready = true) },
  );
  const finished = code.then(() => true);
  await until('turncat ready or done', async () => ready || (await Promise.race([finished, false])), 10_000);
  if (ready) {
    stdin.write(text);
    await until(`the echo of "${text}" (stderr: ${err})`, () => out === text, 10_000);
    stdin.end();
  }
  return { code: await code, err };
}

/**
 * The turncat bin in a process of its own, `env` added to this one's: writes `text` (stdin holds
 * it until the tunnel is up), waits for its echo, ends the input and returns the exit code.
 */
export async function turncatProcess(
  text: string,
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, [TURNCAT_BIN, '--linger', '200', ...argv], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  child.stdin.write(text);
  try {
    await until(
      `the echo of "${text}" (stderr: ${err})`,
      () => {
        if (child.exitCode !== null) throw new Error(`turncat exited with ${child.exitCode}: ${err}`);
        return out === text;
      },
      20_000,
    );
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    child.stdin.end();
  }
  return { code: await exited, err };
}

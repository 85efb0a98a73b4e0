/** coturn's test clients (Debian coturn) as independent TURN peers: turnutils_uclient and turnutils_peer. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { freeUdpPort } from './net.js';
import { sleep } from './wait.js';

export const UCLIENT = '/usr/bin/turnutils_uclient';
export const PEER = '/usr/bin/turnutils_peer';

export interface UclientResult {
  readonly code: number | null;
  readonly output: string;
  /** From `Total lost packets N`; undefined when the run never got that far. */
  readonly lost: number | undefined;
  /** From the last `tot_send_msgs=, tot_recv_msgs=` summary. */
  readonly sent: number | undefined;
  readonly received: number | undefined;
}

export function runUclient(args: string[], timeoutMs = 25_000): Promise<UclientResult> {
  return new Promise((resolve) => {
    execFile(UCLIENT, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      const lost = /Total lost packets (\d+)/.exec(output);
      const totals = [...output.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g)].at(-1);
      resolve({
        code: err ? ((err as { code?: number }).code ?? null) : 0,
        output,
        lost: lost ? Number(lost[1]) : undefined,
        sent: totals ? Number(totals[1]) : undefined,
        received: totals ? Number(totals[2]) : undefined,
      });
    });
  });
}

/** Two consecutive free UDP ports (turnutils_peer binds port and port + 1). */
export async function peerPorts(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freeUdpPort();
    if (p >= 65535) continue;
    const s = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.bind(p + 1, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((r) => (ok ? s.close(() => r()) : r()));
    if (ok) return p;
  }
  throw new Error('no two consecutive free UDP ports');
}

/** turnutils_peer (a UDP echo peer on port and port + 1), given a moment to bind. */
export async function startPeer(port: number, host = '127.0.0.1'): Promise<{ port: number; stop(): void }> {
  const p: ChildProcess = spawn(PEER, ['-L', host, '-p', String(port)], { stdio: 'ignore' });
  await sleep(300);
  if (p.exitCode !== null) throw new Error('turnutils_peer exited');
  return { port, stop: () => p.kill('SIGKILL') };
}

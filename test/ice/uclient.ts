/** coturn's turnutils_uclient and turnutils_peer (an independent TURN client and UDP echo peer). */
import { type ChildProcess, execFile, spawn } from 'node:child_process';

export interface UclientResult {
  readonly code: number | null;
  readonly output: string;
  /** From `Total lost packets N`; undefined when the run never got that far. */
  readonly lost: number | undefined;
}

/** Send/Data mode (-s), 10 messages of 100 bytes, one client; `tcp` adds -t, `tls` -S (TLS over TCP). */
export function uclient(opts: {
  host: string;
  port: number;
  tcp: boolean;
  tls?: boolean;
  username: string;
  password: string;
  peerPort: number;
}): Promise<UclientResult> {
  const args = [
    '-s',
    ...(opts.tcp ? ['-t'] : []),
    ...(opts.tls ? ['-S'] : []),
    '-u',
    opts.username,
    '-w',
    opts.password,
  ];
  args.push('-p', String(opts.port), '-e', '127.0.0.1', '-r', String(opts.peerPort));
  args.push('-n', '10', '-m', '1', '-l', '100', '-z', '5', opts.host);
  return new Promise((resolve) => {
    execFile('turnutils_uclient', args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      const m = /Total lost packets (\d+)/.exec(output);
      const code = err ? ((err as { code?: number }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, output, lost: m ? Number(m[1]) : undefined });
    });
  });
}

export async function startPeer(port: number): Promise<{ stop(): void }> {
  const p: ChildProcess = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 300));
  if (p.exitCode !== null) throw new Error('turnutils_peer exited');
  return { stop: () => p.kill('SIGKILL') };
}

/**
 * Compiles the bench's C programs (this directory) with the system gcc into .bench-build/native/,
 * one directory per hash of the sources and compiler command, so a second call with nothing
 * changed costs one hash. turn-blast links OpenSSL's libcrypto for HMAC-SHA1 and MD5 (Debian
 * libssl-dev, installed by scripts/install-test-peers.sh).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(SRC, '../../.bench-build/native');
const CFLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-Werror'];

export interface NativeTools {
  /** The TURN (or --raw) load generator. */
  readonly turnBlast: string;
  /** The echo peer. */
  readonly udpEcho: string;
  /** The forwarder floor, recvfrom/sendto. */
  readonly fwdPlain: string;
  /** The forwarder floor, recvmmsg/sendmmsg. */
  readonly fwdMmsg: string;
  /** The same with a ChannelData parse and a channel lookup per packet (`turn-blast --raw-channel`). */
  readonly fwdMmsgCd: string;
}

const PROGRAMS: { key: keyof NativeTools; bin: string; args: string[] }[] = [
  { key: 'turnBlast', bin: 'turn-blast', args: ['turn-blast.c', '-lcrypto'] },
  { key: 'udpEcho', bin: 'udp-echo', args: ['udp-echo.c'] },
  { key: 'fwdPlain', bin: 'fwd-plain', args: ['-DFWD_MMSG=0', 'fwd.c'] },
  { key: 'fwdMmsg', bin: 'fwd-mmsg', args: ['-DFWD_MMSG=1', 'fwd.c'] },
  { key: 'fwdMmsgCd', bin: 'fwd-mmsg-cd', args: ['-DFWD_MMSG=1', '-DFWD_CD=1', 'fwd.c'] },
];

function gccVersion(): string {
  const r = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(
      'bench/native: gcc is missing (scripts/install-test-peers.sh installs gcc and libc6-dev)',
    );
  return r.stdout.split('\n')[0] ?? '';
}

/** Builds (or finds built) the programs; throws with the compiler's message on failure. */
export function buildNative(): NativeTools {
  const hash = createHash('sha256');
  for (const f of readdirSync(SRC)
    .filter((n) => /\.[ch]$/.test(n))
    .sort()) {
    hash.update(f).update(readFileSync(path.join(SRC, f)));
  }
  hash.update(JSON.stringify([CFLAGS, PROGRAMS, gccVersion()]));
  const dir = path.join(OUT, hash.digest('hex').slice(0, 16));
  const tools = Object.fromEntries(
    PROGRAMS.map((p) => [p.key, path.join(dir, p.bin)]),
  ) as unknown as NativeTools;
  if (PROGRAMS.every((p) => existsSync(tools[p.key]))) return tools;
  if (!existsSync('/usr/include/openssl/hmac.h'))
    throw new Error(
      'bench/native: OpenSSL headers are missing (Debian libssl-dev; scripts/install-test-peers.sh installs it)',
    );
  // build into a private directory, then move it into place: concurrent builders never see half a build
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  try {
    for (const p of PROGRAMS) {
      const r = spawnSync('gcc', [...CFLAGS, ...p.args, '-o', path.join(tmp, p.bin)], {
        cwd: SRC,
        encoding: 'utf8',
      });
      if (r.error || r.status !== 0)
        throw new Error(`bench/native: gcc failed for ${p.bin}:\n${r.error?.message ?? r.stderr}`);
    }
    if (!existsSync(dir)) renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return tools;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(buildNative(), null, 2));
}

/**
 * Compiles udp-batch.c into the committed prebuilt module (npm run native), or checks that the
 * committed one is exactly what the source compiles to (npm run native -- --check; the test suite
 * does the same). The build is reproducible: relative paths, no debug info, stripped, so the same
 * compiler (Debian bookworm's gcc, the glibc of the runtime image) gives the same bytes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PREBUILT_FILE } from './udp-batch.js';

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = 'udp-batch.c';

/** The compiler command, for messages and for the test that checks the committed binary. */
export function compileArgs(out: string): string[] {
  const headers = dirname(createRequire(import.meta.url).resolve('node-api-headers/include/node_api.h'));
  return [
    '-O2',
    '-std=gnu11',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-fPIC',
    '-shared',
    '-fvisibility=hidden',
    '-s',
    '-DNAPI_VERSION=8',
    `-I${relative(here, headers)}`,
    SOURCE,
    '-o',
    out,
  ];
}

/** Compiles into `out`; throws with the compiler's output when it fails. */
export function compile(out: string): void {
  const r = spawnSync('gcc', compileArgs(out), { cwd: here, encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run gcc (install gcc and libc6-dev): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`gcc failed:\n${r.stderr}`);
}

/** Compiles the source into a temporary file and returns its bytes. */
export function compileToBytes(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'udp-batch-'));
  try {
    const out = join(dir, 'udp-batch.node');
    compile(out);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const prebuilt = join(here, PREBUILT_FILE);
  if (process.argv.includes('--check')) {
    const fresh = compileToBytes();
    if (!fresh.equals(readFileSync(prebuilt))) {
      console.error(`${PREBUILT_FILE} is not what ${SOURCE} compiles to: run npm run native and commit it`);
      process.exit(1);
    }
    console.log(`${PREBUILT_FILE} matches ${SOURCE}`);
  } else {
    const tmp = `${prebuilt}.tmp`;
    compile(tmp);
    renameSync(tmp, prebuilt);
    console.log(`wrote ${relative(process.cwd(), prebuilt)}`);
  }
}

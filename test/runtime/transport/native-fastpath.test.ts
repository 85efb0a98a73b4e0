/**
 * The native fast path's tables and decisions (runtime/transport/native/fastpath): its C unit
 * tests (native-fastpath-test.c) built with AddressSanitizer and UBSan and run, and the source
 * built warning-free the way a release build compiles it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/child-script.js';

const FASTPATH = path.join(ROOT, 'runtime/transport/native/fastpath');
const dir = mkdtempSync(path.join(tmpdir(), 'fastpath-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gcc(args: string[]): void {
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run gcc (install gcc and libc6-dev): ${r.error.message}`);
  expect(r.status, r.stderr).toBe(0);
}

describe('native fast path (C)', () => {
  it('passes its unit tests under AddressSanitizer and UBSan', () => {
    const bin = path.join(dir, 'fastpath-test');
    gcc([
      '-std=gnu11',
      '-O1',
      '-g',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-fsanitize=address,undefined',
      '-fno-sanitize-recover=all',
      `-I${FASTPATH}`,
      path.join(FASTPATH, 'fastpath.c'),
      path.join(import.meta.dirname, 'native-fastpath-test.c'),
      '-o',
      bin,
    ]);
    const r = spawnSync(bin, [], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\d{4,} checks, 0 failed\n$/);
    expect(r.status).toBe(0);
  });

  it('compiles without a warning at -O2 with -Wconversion', () => {
    gcc([
      '-std=gnu11',
      '-O2',
      '-Wall',
      '-Wextra',
      '-Wconversion',
      '-Werror',
      '-fPIC',
      '-c',
      path.join(FASTPATH, 'fastpath.c'),
      '-o',
      path.join(dir, 'fastpath.o'),
    ]);
  });
});

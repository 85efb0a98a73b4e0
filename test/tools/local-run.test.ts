/**
 * The README's local run of the simple tunnel, as written: the lines between its `local-run`
 * markers run in order (`npx <bin>` as this checkout's bin; a line ending in `&` in the background,
 * waited for until it says it is ready), in a directory whose dist/ is the committed one. The last
 * line must print the greeting that came back through the gateway on loopback.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The documented commands: the README's lines between the markers, comments left out. */
function documentedCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- local-run:begin -->\n```sh\n([\s\S]*?)```\n<!-- local-run:end -->/.exec(readme);
  if (!block) throw new Error('README.md has no local-run block');
  return block[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** `npx stunnerd ...` as this checkout's bin (what npx runs once the package is installed). */
const local = (line: string): string =>
  line.replace(
    /\bnpx (stunnerd|turncat|stunnerctl)\b/g,
    (_m, bin: string) => `node ${join(ROOT, 'bin', `${bin}.mjs`)}`,
  );

describe('the README runs the simple tunnel locally', () => {
  const background: ChildProcess[] = [];
  let dir: string | undefined;

  afterAll(async () => {
    for (const p of background) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all(
      background.map((p) => (p.exitCode !== null ? undefined : new Promise((r) => p.once('exit', r)))),
    );
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('relays a greeting through the gateway of dist/ on loopback, with exactly the documented commands', async () => {
    const lines = documentedCommands();
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(lines.some((l) => l.includes('npx stunnerd -c file://dist/'))).toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'local-run-'));
    await symlink(join(ROOT, 'dist'), join(dir, 'dist'));
    let last = { code: -1, stdout: '', stderr: '' };
    for (const line of lines) {
      if (line.endsWith('&')) {
        const p = spawn('sh', ['-c', `exec ${local(line.slice(0, -1).trim())}`], { cwd: dir, stdio: 'pipe' });
        let out = '';
        p.stdout!.on('data', (d) => (out += d));
        p.stderr!.on('data', (d) => (out += d));
        background.push(p);
        await until(
          `"${line.slice(0, 40)}..." is ready`,
          () => /ready/.test(out) || p.exitCode !== null,
          30_000,
        );
        expect(p.exitCode, out).toBeNull();
        continue;
      }
      last = await new Promise((resolve) => {
        execFile('sh', ['-c', local(line)], { cwd: dir, timeout: 30_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
        });
      });
      expect(last.code, `${line}\n${last.stderr}`).toBe(0);
    }
    expect(last.stdout).toBe('Hello hello\n');
  }, 90_000);
});

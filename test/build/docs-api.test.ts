/**
 * The API reference (`npm run docs:api`, TypeDoc over the five public subpaths) builds without a
 * warning: typedoc.json treats warnings as errors, and this test also fails on any warning line,
 * so a broken `{@link}`, an unknown tag or a public type that references an unexported one shows
 * in CI rather than in a reader's browser.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
/** The import specifiers of the package's entry points: `stunner-gitops`, `stunner-gitops/demos`, ... */
const SUBPATHS = Object.keys(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).exports)
  .filter((k) => k !== './package.json')
  .map((k) => `stunner-gitops${k.slice(1)}`);

const OUT = mkdtempSync(join(tmpdir(), 'docs-api-'));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

describe('the API reference', () => {
  it('builds from the TSDoc of every public subpath without warnings', () => {
    const run = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/typedoc/bin/typedoc'), '--options', 'typedoc.json', '--out', OUT],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 180_000, env: { ...process.env, NO_COLOR: '1' } },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(run.error, output).toBeUndefined();
    expect(output).not.toMatch(/\[(warning|error)\]/);
    expect(run.status, output).toBe(0);
    // one page per subpath, named by its import specifier (the @module tags)
    expect(SUBPATHS).toHaveLength(5);
    for (const entry of SUBPATHS)
      expect(existsSync(join(OUT, 'modules', `${entry.replace(/\//g, '_')}.html`)), entry).toBe(true);
  }, 200_000);
});

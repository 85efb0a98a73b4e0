/**
 * The demo tutorials (examples/<name>/README.md) are written for a user: each has the documented
 * sections, and every command that can run without a cluster (fenced `sh runnable` blocks) runs
 * here against the committed dist/, from the repository root, and succeeds.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const TUTORIALS = ['simple-tunnel', 'direct-one2one-call', 'janus', 'mediasoup'];
const SECTIONS = [
  '## What it deploys',
  '## Commands',
  '## What you should see',
  '## How to check it',
  '## Troubleshooting',
  '## Clean-up',
];

/** The fenced blocks whose info string is `sh runnable`. */
function runnableBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh runnable\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe.each(TUTORIALS)('examples/%s/README.md', (name) => {
  const text = readFileSync(join(ROOT, 'examples', name, 'README.md'), 'utf8');

  it('has the sections a user needs, in order', () => {
    const at = SECTIONS.map((s) => text.indexOf(`\n${s}\n`));
    expect(
      at.every((i) => i > 0),
      JSON.stringify(at),
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('runs its runnable commands against the committed dist/', () => {
    const blocks = runnableBlocks(text);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', block], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.status, `${block}\n${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout.trim(), block).not.toBe('');
    }
  });

  it('links its files as they are', () => {
    expect(text).toContain('dist/eu-west/');
    expect(text).toMatch(/constructs\/demos\/[a-z0-9-]+\.ts/);
  });
});

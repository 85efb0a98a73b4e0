/**
 * The test tiers partition the suite: every test file runs in exactly one tier, so a new or moved
 * file cannot fall through, and `npm test` runs both tiers of test/tiers.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import argocd from '../../vitest.argocd.config.js';
import cluster from '../../vitest.cluster.config.js';
import all from '../../vitest.config.js';
import differential from '../../vitest.differential.config.js';
import integration from '../../vitest.integration.config.js';
import unit from '../../vitest.unit.config.js';
import { integrationReason, OTHER_TIERS, TIMING_HEAVY, testFiles } from '../tiers.js';

const ROOT = join(import.meta.dirname, '..', '..');

function everyTestFile(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.ts')) out.push(relative(ROOT, p).split(sep).join('/'));
    }
  };
  walk(join(ROOT, 'test'));
  return out.sort();
}

/** The two pattern forms the configs use: a file, or `<dir>/**` + `/*.test.ts`. */
function matches(file: string, pattern: string): boolean {
  const star = pattern.match(/^(.*\/)\*\*\/\*\.test\.ts$/);
  if (star) return file.startsWith(star[1]!);
  if (pattern.includes('*')) throw new Error(`teach this check the pattern ${pattern}`);
  return file === pattern;
}

function selects(config: { test?: { include?: string[]; exclude?: string[] } }, file: string): boolean {
  const t = config.test!;
  return (
    (t.include ?? []).some((p) => matches(file, p)) &&
    !(t.exclude ?? []).some(
      (p) => p.startsWith('test/') && matches(file, p.replace(/\/\*\*$/, '/**/*.test.ts')),
    )
  );
}

describe('test tiers', () => {
  const files = everyTestFile();
  const tiers = { unit, integration, cluster, argocd, differential } as const;

  it('run every test file in exactly one tier', () => {
    const wrong = files
      .map((f) => ({
        f,
        in: Object.entries(tiers)
          .filter(([, c]) => selects(c, f))
          .map(([n]) => n),
      }))
      .filter((x) => x.in.length !== 1)
      .map((x) => `${x.f}: ${x.in.length === 0 ? 'no tier' : x.in.join(' and ')}`);
    expect(wrong).toEqual([]);
    expect(files.length).toBeGreaterThan(100);
  });

  it('leave to the unit tier only files that start no process, browser or pack', () => {
    for (const f of unit.test!.include!)
      expect(integrationReason(f, readFileSync(join(ROOT, f), 'utf8')), f).toBeUndefined();
    for (const f of integration.test!.include!)
      expect(integrationReason(f, readFileSync(join(ROOT, f), 'utf8')), f).toBeDefined();
  });

  it('name only timing-heavy files that exist', () => {
    const names = new Set(testFiles().map((f) => f.slice(f.lastIndexOf('/') + 1)));
    expect(TIMING_HEAVY.filter((n) => !names.has(n))).toEqual([]);
  });

  it('are, together, what the default config runs (`npx vitest run <file>`)', () => {
    const both = [...unit.test!.include!, ...integration.test!.include!].sort();
    expect(both).toEqual(files.filter((f) => selects(all, f)));
    expect(OTHER_TIERS.every((d) => files.some((f) => f.startsWith(d) && !selects(all, f)))).toBe(true);
  });

  it('run in parallel (unit) and one file at a time (integration), both in `npm test`', () => {
    expect(unit.test!.fileParallelism).not.toBe(false);
    expect(integration.test!.fileParallelism).toBe(false);
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts;
    expect(scripts['test:unit']).toBe('vitest run -c vitest.unit.config.ts');
    expect(scripts['test:integration']).toBe('vitest run -c vitest.integration.config.ts');
    expect(scripts.test).toMatch(/npm run test:unit && npm run test:integration/);
    // test:all is scripts/test-all.sh: npm test, then the tiers that need the Go builds.
    expect(scripts['test:all']).toBe('bash scripts/test-all.sh');
    const all = readFileSync(join(ROOT, 'scripts', 'test-all.sh'), 'utf8');
    for (const step of [
      'npm test',
      'npm run test:cluster',
      'npm run test:argocd',
      'npm run test:differential',
    ])
      expect(all).toContain(step);
  });
});

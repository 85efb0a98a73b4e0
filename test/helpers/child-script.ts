/**
 * Runs an ESM script under tsx in a child Node (for Node flags, or environment the runtime reads
 * once per process) and returns the JSON object it printed last.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** A repository file as a quoted import specifier for the script text. */
export function modulePath(p: string): string {
  return JSON.stringify(path.join(ROOT, p));
}

export function runScript(
  script: string,
  flags: readonly string[] = [],
  env: Record<string, string> = {},
): unknown {
  const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

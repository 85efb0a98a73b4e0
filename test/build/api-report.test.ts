/**
 * The committed API report (api/*.api.md, API Extractor's) is the public surface of every entry
 * point: a change to the exports or their signatures must come with `npm run api`, so that it
 * shows in review. Builds lib/ first: the report reads the published declarations.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EntryReport, extractApi } from '../../build/api.js';
import { REPO_ROOT } from '../../build/runtime-bundle.js';

describe('API report', () => {
  let reports: EntryReport[] = [];

  beforeAll(() => {
    const build = spawnSync(process.execPath, ['--import', 'tsx', 'build/build.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(build.status, build.stderr).toBe(0);
    reports = extractApi(false);
  }, 240_000);

  it('api/ holds the current surface of every entry point, with no warning (else: npm run api)', () => {
    expect(reports.map((r) => r.entry)).toEqual(['index', 'demos', 'gitops', 'config', 'ice-client']);
    for (const { entry, result, problems } of reports) {
      expect(problems, entry).toEqual([]);
      expect(result.apiReportChanged, entry).toBe(false);
      expect(result.succeeded, entry).toBe(true);
    }
  });

  it('leaves the gateway-route protocol out of the surface', () => {
    const root = readFileSync(join(REPO_ROOT, 'api', 'stunner-gitops.api.md'), 'utf8');
    for (const internal of [
      '_addRoute',
      '_watchNamespace',
      '_planFor',
      '_whenBound',
      'RoutePlan',
      'RouteCluster',
    ])
      expect(root, internal).not.toContain(internal);
  });
});

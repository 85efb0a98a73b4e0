/**
 * The committed API report (api/*.api.md) is the public surface of every entry point: a change to
 * the exports or their signatures must come with `npm run api`, so that it shows in review.
 */
import { describe, expect, it } from 'vitest';
import { API_ENTRIES, apiReports, committedReport, reportFile } from '../../build/api-report.js';

describe('API report', () => {
  const reports = apiReports();

  it.each(Object.keys(API_ENTRIES))(
    'api/ holds the current surface of %s (run `npm run api` when this fails)',
    (entry) => {
      expect(committedReport(entry), `api/${reportFile(entry)}`).toBe(reports[entry]);
    },
  );

  it('leaves the gateway-route protocol out of the surface', () => {
    const root = reports['stunner-gitops']!;
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

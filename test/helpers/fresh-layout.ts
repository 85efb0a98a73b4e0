/**
 * The layout as `npm run synth` would render it now, into a temporary directory: tests of the
 * demo servers' behaviour run the current sources (the bundles global-setup just built), not the
 * committed dist/, which is re-synthesized only when a change lands.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLayout } from '../../charts-ts/app.js';
import type { Manifest } from '../constructs/helpers.js';
import { loadChartFile } from './chart-file.js';

let out: string | undefined;

/**
 * The objects of one chart of a fresh synth, e.g. `freshChart('eu-west', 'direct-call')`, with
 * its namespace's runtime file.
 */
export function freshChart(cluster: string, chart: string): Manifest[] {
  if (out === undefined) {
    out = mkdtempSync(join(tmpdir(), 'fresh-layout-'));
    createLayout({ outdir: out, onWarning: () => {} }).synth();
  }
  return loadChartFile(join(out, cluster, `${chart}.k8s.yaml`));
}

/** Removes the fresh synth (call in afterAll). */
export function cleanUpFreshLayout(): void {
  if (out !== undefined) rmSync(out, { recursive: true, force: true });
  out = undefined;
}

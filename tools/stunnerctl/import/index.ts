/**
 * `stunnerctl import <file>...`: STUNner's Gateway API objects in, a TypeScript cdk8s chart of this
 * package's constructs out. It reads GatewayClass and GatewayConfig (stunner.l7mp.io v1alpha1 and
 * v1), the Dataplane a GatewayConfig names (replicas, resources, scheduling: the props of the same
 * meaning), Gateway (gateway.networking.k8s.io v1, v1beta1, v1alpha2) with STUNner's Gateway annotations
 * and spec.addresses, UDPRoute (gateway.networking.k8s.io and stunner.l7mp.io, backend port and
 * endPort) and StaticService, and writes a chart whose synthesized dataplane configs carry the same
 * listeners, auth, routes and clusters as STUNner's operator renders for them (Service backends as
 * the constructs render them: a STRICT_DNS cluster on the Service's name, expanded to its ready pod
 * IPs by the in-pod watcher). The chart imports 'stunner-gitops'; this module imports no construct.
 *
 * importStunnerYaml(texts) -> { source, unmapped, notes }, in three steps: read.ts (YAML into
 * objects by kind), map.ts (objects into plans, reporting what has no equivalent) and emit.ts (the
 * plans as the chart's code). `unmapped` lists every object or field that has no equivalent, with
 * the reason; the command exits 0 when everything mapped, 3 when some did not, 1 on an error
 * (unreadable YAML, no Gateway that could be mapped).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ExitCode } from '../../../contract/exit-codes.js';
import { emitChart } from './emit.js';
import { mapGateways, mapRoutes } from './map.js';
import { ImportError, type ImportResult, type Report } from './model.js';
import { classify, readObjects } from './read.js';

export { tsString } from './emit.js';
export { ImportError, type ImportResult, type Unmapped } from './model.js';

export function importStunnerYaml(
  texts: readonly { name: string; text: string }[],
  chartName = 'ImportedChart',
): ImportResult {
  if (!/^[A-Z][A-Za-z0-9_]*$/.test(chartName))
    throw new ImportError(`--chart-name ${chartName}: not a TypeScript class name`);
  const report: Report = { unmapped: [], notes: [] };
  const input = classify(readObjects(texts), report);
  const plans = mapGateways(input, report);
  const routePlans = mapRoutes(input, plans, report);
  if (plans.length === 0) {
    const u = report.unmapped;
    const why = u.length > 0 ? `: ${u.map((x) => `${x.what}: ${x.reason}`).join('; ')}` : '';
    throw new ImportError(`no Gateway could be mapped${why}`);
  }
  return {
    source: emitChart(
      texts.map((t) => t.name),
      chartName,
      plans,
      routePlans,
    ),
    unmapped: report.unmapped,
    notes: report.notes,
    gateways: plans.map((p) => `${p.ns}/${p.name}`),
    routes: routePlans.map((r) => `${r.ns}/${r.name}`),
  };
}

/** The command: `files` (parsed by stunnerctl's command line), the chart to stdout or `output`. */
export async function runImport(
  files: readonly string[],
  opts: { readonly output?: string | undefined; readonly chartName?: string | undefined },
  io: { out: (s: string) => void; err: (s: string) => void },
): Promise<number> {
  const outFile = opts.output;
  const chartName = opts.chartName ?? 'ImportedChart';
  try {
    if (files.length === 0) throw new ImportError('give one or more YAML files');
    const texts = await Promise.all(
      files.map(async (f) => ({
        name: f,
        text: await readFile(f === '-' ? '/dev/stdin' : f, 'utf8').catch(() => {
          throw new ImportError(`${f}: cannot read`);
        }),
      })),
    );
    const r = importStunnerYaml(texts, chartName);
    if (outFile) await writeFile(outFile, r.source);
    else io.out(r.source);
    for (const n of r.notes) io.err(`stunnerctl import: note: ${n}\n`);
    for (const u of r.unmapped) io.err(`stunnerctl import: not mapped: ${u.what}: ${u.reason}\n`);
    io.err(
      `stunnerctl import: ${r.gateways.length} gateway(s), ${r.routes.length} route(s) mapped${r.unmapped.length > 0 ? `, ${r.unmapped.length} item(s) not mapped` : ''}${outFile ? `; wrote ${outFile}` : ''}\n`,
    );
    io.err(`stunnerctl import: ${chartUse(chartName, outFile)}\n`);
    return r.unmapped.length > 0 ? ExitCode.PARTIAL : ExitCode.OK;
  } catch (e) {
    if (e instanceof ImportError) {
      io.err(`stunnerctl import: ${e.message}\n`);
      return ExitCode.FAILED;
    }
    throw e;
  }
}

/** One line: how to use the chart just written. */
export function chartUse(chartName: string, outFile: string | undefined): string {
  const from =
    outFile === undefined ? './<the file you saved it to>' : `./${basename(outFile).replace(/\.ts$/, '')}`;
  return `use it in your app: import { ${chartName} } from '${from}'; new ${chartName}(app, 'stunner'); then cdk8s synth`;
}

/**
 * The API report: `api/<entry>.api.md`, API Extractor's report of each package entry point's
 * published declarations (lib/), committed so that every change to the public API shows in review.
 * Each entry point has its settings in build/api-extractor/ (base.json says why API Extractor).
 *
 *   npm run api   rebuilds lib/ and rewrites the reports (API Extractor's local mode)
 *
 * test/build/api-report.test.ts runs it in non-local mode, where a changed API is a warning.
 */
import { join } from 'node:path';
import {
  CompilerState,
  Extractor,
  ExtractorConfig,
  ExtractorLogLevel,
  type ExtractorMessage,
  type ExtractorResult,
} from '@microsoft/api-extractor';
import type ts from 'typescript';
import { ENTRY_POINTS } from './build.js';
import { REPO_ROOT } from './runtime-bundle.js';

export type Entry = keyof typeof ENTRY_POINTS;

/**
 * Types a public signature names but no entry point exports, and why. API Extractor calls them
 * forgotten exports; exporting them would add API that nobody needs to name.
 */
const UNEXPORTED: Readonly<Record<string, string>> = {
  // the demos' `app`, `page` and `landing`: reachable as constructs, not built by users
  DemoServer: 'the demo servers are built by the demos only',
  // `StunnerConfigInput`'s fields: `Omit<T, K> & Partial<Pick<T, K>>`
  Optional: 'a local helper type, spelled out where it is used',
};

/** What a local build says when it rewrites a report: the purpose of the run, no problem. */
const UPDATED: readonly string[] = ['console-api-report-copied', 'console-api-report-created'];

export interface EntryReport {
  readonly entry: Entry;
  readonly result: ExtractorResult;
  /** Every warning and error but a local build's "report updated", as printed. */
  readonly problems: readonly string[];
}

/**
 * Runs API Extractor over every entry point's declarations in lib/ (built beforehand), on one
 * shared compiler program. `localBuild` rewrites the reports; otherwise a changed API is reported.
 */
export function extractApi(localBuild: boolean): EntryReport[] {
  const entries = Object.keys(ENTRY_POINTS) as Entry[];
  const configs = entries.map((e) =>
    ExtractorConfig.loadFileAndPrepare(join(REPO_ROOT, 'build', 'api-extractor', `${e}.jsonc`)),
  );
  const compilerState = CompilerState.create(configs[0]!, {
    additionalEntryPoints: configs.map((c) => c.mainEntryPointFilePath),
  });
  const exported = configs.map((c) =>
    exportsOf(compilerState.program as ts.Program, c.mainEntryPointFilePath),
  );
  return entries.map((entry, i) => {
    // API Extractor sees one entry point at a time: a demo's signature naming StunnerGateway,
    // which the root exports, is a forgotten export to it.
    const elsewhere = new Set(exported.filter((_, j) => j !== i).flatMap((names) => [...names]));
    const problems: string[] = [];
    const messageCallback = (m: ExtractorMessage): void => {
      const symbol = /^The symbol "(.+)" needs to be exported/.exec(m.text)?.[1];
      if (m.messageId === 'ae-forgotten-export' && symbol !== undefined)
        if (elsewhere.has(symbol) || symbol in UNEXPORTED) m.logLevel = ExtractorLogLevel.None;
      if (UPDATED.includes(m.messageId)) return;
      if (m.logLevel === ExtractorLogLevel.Warning || m.logLevel === ExtractorLogLevel.Error)
        problems.push(m.formatMessageWithLocation(REPO_ROOT));
    };
    const result = Extractor.invoke(configs[i]!, { localBuild, compilerState, messageCallback });
    return { entry, result, problems };
  });
}

function exportsOf(program: ts.Program, declarations: string): Set<string> {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(declarations);
  const module = source && checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${declarations}: not in API Extractor's program`);
  return new Set(checker.getExportsOfModule(module).map((s) => s.name));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const reports = extractApi(true);
  const problems = reports.flatMap((r) => r.problems);
  if (problems.length > 0) {
    console.error(`${problems.length} API Extractor warnings or errors:\n${problems.join('\n')}`);
    process.exit(1);
  }
}

/**
 * The names that cross the YAML live in contract/ only: production code elsewhere spells no
 * `stunner.l7mp.io/` or `app.kubernetes.io/` key, no `STUNNER_*` variable and no default port,
 * but imports them from contract/. The scan reads the code's tokens (strings, templates, regexes,
 * identifiers, numbers), not its comments, which may name what they document. It is live: a
 * planted copy of each literal goes red.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_HEALTHCHECK_PORT,
  DEFAULT_ICE_AUTH_PORT,
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  DEFAULT_TLS_PORT,
} from '../../contract/defaults.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** Production code outside contract/. */
const SCANNED = ['runtime', 'constructs', 'tools', 'demo-servers', 'bin'];
const SOURCE = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

const TEXT_LITERALS = ['stunner.l7mp.io/', 'app.kubernetes.io/', 'STUNNER_'] as const;
const DEFAULT_PORTS: ReadonlySet<number> = new Set([
  DEFAULT_PORT,
  DEFAULT_TLS_PORT,
  DEFAULT_HEALTHCHECK_PORT,
  DEFAULT_METRICS_PORT,
  DEFAULT_ICE_AUTH_PORT,
]);
const PORT_IN_TEXT = new RegExp(`(?<![0-9])(${[...DEFAULT_PORTS].join('|')})(?![0-9])`);

interface Finding {
  readonly file: string;
  readonly line: number;
  readonly literal: string;
}

function scriptKind(file: string): ts.ScriptKind {
  return /\.[mc]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
}

/** The contract literals that `text`'s code (not its comments) spells out. */
function scanSource(file: string, text: string): Finding[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, scriptKind(file));
  const out: Finding[] = [];
  // The line of the literal itself, inside a multi-line template too.
  const report = (node: ts.Node, literal: string, at = 0) =>
    out.push({
      file,
      line: source.getLineAndCharacterOfPosition(node.getStart(source) + at).line + 1,
      literal,
    });
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteralLike(node) ||
      ts.isTemplateLiteralToken(node) ||
      ts.isRegularExpressionLiteral(node) ||
      ts.isIdentifier(node) ||
      ts.isPrivateIdentifier(node)
    ) {
      const t = ts.isIdentifier(node) || ts.isPrivateIdentifier(node) ? node.text : node.getText(source);
      for (const literal of TEXT_LITERALS) if (t.includes(literal)) report(node, literal, t.indexOf(literal));
      if (!ts.isIdentifier(node) && !ts.isPrivateIdentifier(node)) {
        const port = PORT_IN_TEXT.exec(t);
        if (port) report(node, port[1]!, port.index);
      }
    } else if (ts.isNumericLiteral(node) && DEFAULT_PORTS.has(Number(node.text))) {
      report(node, node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (SOURCE.has(extname(e.name)) && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** Every finding under `root`'s scanned folders. */
function scanTree(root: string): Finding[] {
  const out: Finding[] = [];
  for (const folder of SCANNED) {
    if (!existsSync(join(root, folder))) continue;
    for (const path of sourceFiles(join(root, folder))) {
      const file = relative(root, path).split('\\').join('/');
      out.push(...scanSource(file, readFileSync(path, 'utf8')));
    }
  }
  return out;
}

const format = (f: Finding) => `${f.file}:${f.line}: ${f.literal} (import it from contract/)`;

describe('contract literals', () => {
  it('appear in production code only in contract/', () => {
    expect(scanTree(ROOT).map(format)).toEqual([]);
  });

  it('go red on a planted copy of each literal, and not on comments', () => {
    const planted = [
      "const a = { 'stunner.l7mp.io/related-gateway-name': name };",
      'const b = `app.kubernetes.io/instance=${name}`;',
      "const c = process.env['STUNNER_ADDR'];",
      'const d = process.env.STUNNER_NAME;',
      ...[...DEFAULT_PORTS].map((p, i) => `const p${i} = ${p};`),
      "const e = 'http://:8086/status';",
      'const f = 3_478;',
      '// a comment may say stunner.l7mp.io/, app.kubernetes.io/, STUNNER_ADDR and 3478',
      'const usage = `usage: stunnerd',
      '  STUNNER_PUBLIC_ADDR   the host of every URI`;',
      '/** @default 8080 */',
      'const g = 34780 + 80860;',
    ].join('\n');
    const found = scanSource('runtime/planted.ts', planted).map((f) => `${f.line} ${f.literal}`);
    expect(found).toEqual([
      '1 stunner.l7mp.io/',
      '2 app.kubernetes.io/',
      '3 STUNNER_',
      '4 STUNNER_',
      ...[...DEFAULT_PORTS].map((p, i) => `${5 + i} ${p}`),
      `${5 + DEFAULT_PORTS.size} 8086`,
      `${6 + DEFAULT_PORTS.size} 3478`,
      `${9 + DEFAULT_PORTS.size} STUNNER_`,
    ]);
  });

  const dir = mkdtempSync(join(tmpdir(), 'contract-literals-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  };

  it('scan every production folder and JavaScript too, naming file:line; contract/ and tests are free', () => {
    write(
      'runtime/process/env.ts',
      "export const x = 1;\nexport const ns = process.env['STUNNER_NAMESPACE'];\n",
    );
    write('constructs/labels.ts', "export const l = 'app.kubernetes.io/name';\n");
    write('demo-servers/app/main.ts', 'export const port = 8088;\n');
    write('bin/tool.mjs', "await import('x');\nconst k = 'stunner.l7mp.io/injected-at-start';\n");
    write('tools/ctl/main.ts', 'export const turn = 3478;\n');
    write('contract/labels.ts', "export const LABEL = 'stunner.l7mp.io/related-gateway-name';\n");
    write('test/fixture.ts', 'export const port = 3478;\n');
    expect(scanTree(dir).map(format).sort()).toEqual([
      'bin/tool.mjs:2: stunner.l7mp.io/ (import it from contract/)',
      'constructs/labels.ts:1: app.kubernetes.io/ (import it from contract/)',
      'demo-servers/app/main.ts:1: 8088 (import it from contract/)',
      'runtime/process/env.ts:2: STUNNER_ (import it from contract/)',
      'tools/ctl/main.ts:1: 3478 (import it from contract/)',
    ]);
  });
});

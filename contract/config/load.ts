/** Config documents as text: YAML or JSON in, canonical JSON out. */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { firstLine } from './quote.js';
import type { StunnerConfig } from './types.js';
import { ConfigError, type ConfigResult, type ValidateOptions, validateConfig } from './validate.js';

/** Parses YAML or JSON (JSON is YAML) and validates it. Syntax errors carry line and column. */
export function validateConfigText(text: string, opts: ValidateOptions = {}): ConfigResult {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return { path: pos ? `line ${pos.line}, column ${pos.col}` : '', message: firstLine(e.message) };
    });
    return { ok: false, problems, warnings: [] };
  }
  let input: unknown;
  try {
    // toJS resolves aliases: an alias to no anchor, or too many of them (a "billion laughs"
    // document), throws here, and is a problem with the document like any syntax error
    input = doc.toJS();
  } catch (e) {
    return {
      ok: false,
      problems: [{ path: '', message: firstLine(e instanceof Error ? e.message : String(e)) }],
      warnings: [],
    };
  }
  return validateConfig(input, opts);
}

export async function loadConfigFile(path: string, opts: ValidateOptions = {}): Promise<StunnerConfig> {
  const r = validateConfigText(await readFile(path, 'utf8'), opts);
  if (!r.ok) throw new ConfigError(r.problems, path);
  return r.config;
}

/** Canonical text of a config: stable key order, so that synthesized manifests are byte-identical. */
export function stringifyConfig(config: StunnerConfig): string {
  return JSON.stringify(config, null, 2);
}

/**
 * Environment substitution, as stunnerd does it: `$VAR` and `${VAR}` in every string value,
 * except under `auth.credentials`, where a `$` in a password must survive.
 */
const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const WHOLE_VAR = /^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*)$/;
const INTEGER = /^-?[0-9]+$/;

export interface SubstitutionResult {
  readonly value: unknown;
  /** Variables that were referenced but not set; they expand to the empty string. */
  readonly unset: readonly string[];
}

export function substituteEnv(input: unknown, env: NodeJS.ProcessEnv): SubstitutionResult {
  const unset = new Set<string>();
  const expand = (s: string): string | number => {
    const out = s.replace(VAR, (_m, braced: string | undefined, bare: string | undefined) => {
      const name = (braced ?? bare)!;
      const v = env[name];
      if (v === undefined) unset.add(name);
      return v ?? '';
    });
    // `port: $PORT` parses as a string; a value that was only a variable and expands to an
    // integer becomes a number so that numeric fields accept it.
    return WHOLE_VAR.test(s) && INTEGER.test(out) ? Number(out) : out;
  };
  const walk = (v: unknown, path: string): unknown => {
    if (path === 'auth.credentials') return v;
    if (typeof v === 'string') return v.includes('$') ? expand(v) : v;
    if (Array.isArray(v)) return v.map((x) => walk(x, `${path}[]`));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, path === '' ? k : `${path}.${k}`);
      return out;
    }
    return v;
  };
  return { value: walk(input, ''), unset: [...unset].sort() };
}

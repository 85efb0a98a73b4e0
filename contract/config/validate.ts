/**
 * Validation of a raw config object: environment substitution, v1alpha1 conversion, the
 * structural schema, then the checks that span fields (names, ports, routes, TLS, endpoints).
 * Every problem is reported at once, each with its path and reason.
 */

import type { core } from 'zod';
import { isDnsName } from '../checks.js';
import { DEFAULT_PORT } from '../defaults.js';
import { ipFamily as isIP } from '../ip-literal.js';
import { didYouMean } from './did-you-mean.js';
import { parseEndpoint } from './endpoint.js';
import { substituteEnv } from './env.js';
import { pathKey, quote } from './quote.js';
import { describe, KNOWN_FIELDS, StunnerConfigSchema } from './schema.js';
import { isTlsProtocol, listenerProtocolOf, listenerTransport, type StunnerConfig } from './types.js';
import { convertV1alpha1, isObject, isV1alpha1 } from './v1alpha1.js';

export interface ConfigProblem {
  /** Where, e.g. `listeners[1].port`; empty for the document itself. */
  readonly path: string;
  /** Why, e.g. `70000 is not a valid port`. */
  readonly message: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: StunnerConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[]; readonly warnings: readonly string[] };

export interface ValidateOptions {
  /** Variables for `$VAR` substitution. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export class ConfigError extends Error {
  constructor(
    readonly problems: readonly ConfigProblem[],
    readonly source = 'config',
  ) {
    super(`${source} is invalid:\n${formatProblems(problems)}`);
    this.name = 'ConfigError';
  }
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `  ${p.path || '(root)'}: ${p.message}`).join('\n');
}

export function validateConfig(input: unknown, opts: ValidateOptions = {}): ConfigResult {
  const warnings: string[] = [];
  if (!isObject(input)) {
    return {
      ok: false,
      problems: [{ path: '', message: `expected an object, got ${describe(input)}` }],
      warnings,
    };
  }
  let raw: Record<string, unknown> = input;
  if (isV1alpha1(raw)) {
    raw = convertV1alpha1(raw);
    warnings.push('converted a v1alpha1 config to v1');
  }
  const sub = substituteEnv(raw, opts.env ?? process.env);
  for (const name of sub.unset) warnings.push(`environment variable $${name} is not set; it expands to ""`);
  raw = sub.value as Record<string, unknown>;

  const parsed = StunnerConfigSchema.safeParse(raw, { reportInput: true });
  const problems = parsed.success ? [] : parsed.error.issues.flatMap(toProblems);
  problems.push(...crossFieldProblems(raw));
  if (problems.length > 0 || !parsed.success) {
    return { ok: false, problems: dedupe(problems), warnings };
  }
  const config = parsed.data;
  if (config.admin.offload_engine !== undefined && config.admin.offload_engine !== 'None') {
    warnings.push(
      `admin.offload_engine: ${config.admin.offload_engine} is not supported here; relaying in user space`,
    );
  }
  return { ok: true, config, warnings };
}

/** Validates and returns the config, or throws a ConfigError listing every problem. */
export function parseConfig(input: unknown, opts: ValidateOptions & { source?: string } = {}): StunnerConfig {
  const r = validateConfig(input, opts);
  if (!r.ok) throw new ConfigError(r.problems, opts.source);
  return r.config;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? pathKey(String(seg)) : `.${pathKey(String(seg))}`;
  }
  return out;
}

/**
 * A field whose value is a credential: a password, a secret or a private key, under any of
 * these names or as the last word of a longer one (`license_config.hmac`, `api_key`).
 */
const CREDENTIAL_KEY = /(^|[_-])(password|passwd|secret|key|hmac|token|credentials?)$/i;

export function isCredentialPath(path: readonly PropertyKey[]): boolean {
  return path.some((seg) => typeof seg === 'string' && CREDENTIAL_KEY.test(seg));
}

/** The kind of a value, never the value itself: what a problem at a credential may say. */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return withArticle(typeof v);
}

function withArticle(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function toProblems(issue: core.$ZodIssue): ConfigProblem[] {
  const path = formatPath(issue.path);
  // A credential of the wrong type (`password: 12345`) must not be echoed into logs: the
  // schema's messages quote the bad value, so these say only what kind of value was found.
  if (issue.code !== 'unrecognized_keys' && isCredentialPath(issue.path)) {
    if (issue.input === undefined) return [{ path, message: 'is required' }];
    const expected =
      issue.code === 'invalid_type' ? `expected ${withArticle(issue.expected)}, ` : 'is not valid; ';
    return [{ path, message: `${expected}got ${kindOf(issue.input)} (value not shown)` }];
  }
  if (issue.code === 'unrecognized_keys') {
    const known = KNOWN_FIELDS.get(path.replace(/\[\d+\]/g, '[]')) ?? [];
    return issue.keys.map((key) => {
      const hint = didYouMean(key, known);
      return {
        path: path === '' ? pathKey(key) : `${path}.${pathKey(key)}`,
        message: `unknown field${hint ? `; did you mean "${hint}"?` : `; expected one of ${known.join(', ')}`}`,
      };
    });
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [{ path, message: 'is required' }];
  }
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    return [
      {
        path,
        message: `expected ${issue.expected === 'object' ? 'an object' : issue.expected}, got ${describe(issue.input)}`,
      },
    ];
  }
  return [{ path, message: issue.message }];
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}\0${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Checks that span fields. They read the raw object defensively, so that they still report
 * when the schema found problems elsewhere in the same document.
 */
function crossFieldProblems(raw: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const listeners = Array.isArray(raw['listeners']) ? raw['listeners'] : [];
  const clusters = Array.isArray(raw['clusters']) ? raw['clusters'] : [];

  const clusterNames = new Map<string, number>();
  clusters.forEach((c, i) => {
    if (!isObject(c)) return;
    const name = c['name'];
    if (typeof name === 'string' && name !== '') {
      const first = clusterNames.get(name);
      if (first !== undefined)
        add(`clusters[${i}].name`, `duplicate cluster name ${quote(name)} (also clusters[${first}])`);
      else clusterNames.set(name, i);
    }
    const type = typeof c['type'] === 'string' ? c['type'].toUpperCase() : 'STATIC';
    if ((type === 'STATIC' || type === 'STRICT_DNS') && Array.isArray(c['endpoints'])) {
      c['endpoints'].forEach((ep, j) => {
        if (typeof ep !== 'string') return;
        const parsed = parseEndpoint(ep, type);
        if (typeof parsed === 'string') add(`clusters[${i}].endpoints[${j}]`, parsed);
      });
    }
  });

  const names = new Map<string, number>();
  const sockets = new Map<string, number>();
  listeners.forEach((l, i) => {
    if (!isObject(l)) return;
    const at = `listeners[${i}]`;
    const name = typeof l['name'] === 'string' ? l['name'] : undefined;
    if (name) {
      const first = names.get(name);
      if (first !== undefined)
        add(`${at}.name`, `duplicate listener name ${quote(name)} (also listeners[${first}])`);
      else names.set(name, i);
    }
    const protocol = typeof l['protocol'] === 'string' ? listenerProtocolOf(l['protocol']) : 'TURN-UDP';
    const port = typeof l['port'] === 'number' ? l['port'] : DEFAULT_PORT;
    const address = typeof l['address'] === 'string' && l['address'] !== '' ? l['address'] : '0.0.0.0';
    if (typeof l['address'] === 'string' && l['address'] !== '' && isIP(l['address']) === 0) {
      add(`${at}.address`, `${quote(l['address'])} is not an IP address`);
    }
    const pub = l['public_address'];
    if (typeof pub === 'string' && pub !== '' && isIP(pub) === 0 && !isDnsName(pub)) {
      add(`${at}.public_address`, `${quote(pub)} is neither an IP address nor a DNS name`);
    }
    if (protocol) {
      const socket = `${listenerTransport(protocol)}/${port}`;
      const wildcard = address === '0.0.0.0' || address === '::';
      for (const [other, j] of sockets) {
        const [oSock, oAddr] = other.split('@');
        if (oSock === socket && (wildcard || oAddr === address || oAddr === '0.0.0.0' || oAddr === '::')) {
          add(`${at}.port`, `port ${port}/${listenerTransport(protocol)} is already used by listeners[${j}]`);
          break;
        }
      }
      sockets.set(`${socket}@${address}`, i);
      if (isTlsProtocol(protocol)) {
        for (const field of ['cert', 'key'] as const) {
          const v = l[field];
          if (v === undefined || v === '') {
            add(`${at}.${field}`, `is required for a ${protocol} listener (base64-encoded PEM)`);
          } else if (typeof v === 'string' && !isBase64Pem(v)) {
            add(`${at}.${field}`, 'is not base64-encoded PEM');
          }
        }
      }
    }
    const lo = l['min_relay_port'];
    const hi = l['max_relay_port'];
    if ((lo === undefined) !== (hi === undefined)) {
      add(
        `${at}.${lo === undefined ? 'min_relay_port' : 'max_relay_port'}`,
        'is required when the other end of the relay port range is set',
      );
    } else if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) {
      add(`${at}.min_relay_port`, `${lo} is above max_relay_port ${hi}`);
    }
    if (Array.isArray(l['routes'])) {
      l['routes'].forEach((r, j) => {
        if (typeof r !== 'string' || clusterNames.has(r)) return;
        const hint = didYouMean(r, [...clusterNames.keys()]);
        add(
          `${at}.routes[${j}]`,
          `no cluster named ${quote(r)}${hint ? `; did you mean ${quote(hint)}?` : ''}`,
        );
      });
    }
  });

  const auth = raw['auth'];
  if (isObject(auth) && isObject(auth['credentials'])) {
    const t = typeof auth['type'] === 'string' ? auth['type'].toLowerCase() : 'static';
    const creds = auth['credentials'];
    const need =
      t === 'static' || t === 'plaintext'
        ? ['username', 'password']
        : t === 'ephemeral' || t === 'longterm'
          ? ['secret']
          : [];
    const other = need.includes('secret') ? ['username', 'password'] : ['secret'];
    for (const k of need) {
      if (creds[k] === undefined || creds[k] === '')
        add(`auth.credentials.${k}`, `is required for ${t} auth`);
    }
    for (const k of other) {
      if (need.length > 0 && creds[k] !== undefined) {
        add(
          `auth.credentials.${k}`,
          `is not used by ${t} auth; set auth.type to ${k === 'secret' ? 'ephemeral' : 'static'} to use it`,
        );
      }
    }
  }
  return problems;
}

function isBase64Pem(v: string): boolean {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(v)) return false;
  return Buffer.from(v, 'base64').toString('latin1').includes('-----BEGIN ');
}

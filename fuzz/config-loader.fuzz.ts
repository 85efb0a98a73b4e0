/**
 * Fuzz target: the config loader (contract/config: validateConfigText, what loadConfigFile runs on
 * the file's text).
 *
 * Even first byte: the rest is the file's text (YAML or JSON). Odd: a valid config (one of the
 * shapes STUNner's operator and its docs write) with fuzz-chosen edits, as JSON text. Properties:
 * - validateConfigText never throws;
 * - ok: the config validates again, and its canonical text (stringifyConfig) reloads to the same
 *   config (when no `$VAR` is left in it to expand a second time);
 * - not ok: a non-empty list of problems, each a `path: reason` pair of short single-line strings,
 *   never a stack trace; ConfigError renders them one per line.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  ConfigError,
  stringifyConfig,
  validateConfig,
  validateConfigText,
} from '../contract/config/index.js';
import { check, show } from './engine/check.js';
import { FuzzInput } from './engine/input.js';

const ENV = { STUNNER_ADDR: '10.0.0.9', PORT: '3478', EMPTY: '' };

export const BASE_CONFIGS: readonly object[] = [
  {
    version: 'v1',
    admin: {
      name: 'stunner/udp-gateway',
      loglevel: 'all:INFO',
      metrics_endpoint: 'http://:8080/metrics',
      healthcheck_endpoint: 'http://0.0.0.0:8086',
      user_quota: 5,
      max_allocations: 100,
    },
    auth: {
      type: 'static',
      realm: 'stunner.l7mp.io',
      credentials: { username: 'user-1', password: 'pass-1' },
    },
    listeners: [
      {
        name: 'stunner/udp-gateway/udp-listener',
        protocol: 'TURN-UDP',
        public_address: '34.118.36.108',
        public_port: 3478,
        address: '$STUNNER_ADDR',
        port: 3478,
        routes: ['stunner/iperf-server'],
      },
      { name: 'tcp', protocol: 'TURN-TCP', address: '0.0.0.0', port: 3479, routes: ['stunner/iperf-server'] },
    ],
    clusters: [
      {
        name: 'stunner/iperf-server',
        type: 'STATIC',
        protocol: 'udp',
        endpoints: ['10.76.1.4', '10.98.85.0/24'],
      },
    ],
  },
  {
    version: 'v1alpha1',
    admin: { name: 'stunner-daemon', loglevel: 'all:INFO' },
    auth: { type: 'longterm', realm: 'stunner.l7mp.io', credentials: { secret: 'my-secret' } },
    listeners: [
      {
        name: 'default-listener',
        protocol: 'udp',
        port: 3478,
        min_relay_port: 32768,
        max_relay_port: 65535,
        routes: ['allow-any'],
      },
    ],
    clusters: [
      { name: 'allow-any', type: 'STATIC', endpoints: ['0.0.0.0/0'] },
      { name: 'dns', type: 'STRICT_DNS', endpoints: ['media.default.svc.cluster.local:<10000-20000>'] },
    ],
  },
];

const STRINGS = [
  '',
  'TURN-TLS',
  'TURN-TCP',
  'TURN-DTLS',
  'STRICT_DNS',
  'ephemeral',
  'static',
  '0.0.0.0/0',
  '::/0',
  '::ffff:127.0.0.1',
  '169.254.169.254/32',
  'fd00:ec2::254',
  '127.0.0.1:<1-65535>',
  'a.b.svc:<20000-10000>',
  '$PORT',
  '${STUNNER_ADDR}',
  '$UNSET_VAR',
  'all:TRACE',
  'x'.repeat(300),
  '\u0000',
  '💥',
];
const NUMBERS = [0, 1, -1, 3478, 65535, 65536, 1e21, 0.5, Number.MAX_SAFE_INTEGER, 1_000_001];
const KEYS = [
  'name',
  'port',
  'routes',
  'endpoints',
  'protocol',
  'type',
  'cert',
  'key',
  'portt',
  'user_quota',
  '__proto__',
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function randomValue(inp: FuzzInput, depth: number): Json {
  switch (inp.int(depth > 2 ? 5 : 7)) {
    case 0:
      return inp.pick(STRINGS);
    case 1:
      return inp.pick(NUMBERS);
    case 2:
      return inp.bool();
    case 3:
      return null;
    case 4:
      return inp.bytes(inp.int(24)).toString('utf8');
    case 5:
      return Array.from({ length: inp.int(4) }, () => randomValue(inp, depth + 1));
    default: {
      const o: Record<string, Json> = {};
      for (let i = inp.int(4); i > 0; i--) o[inp.pick(KEYS)] = randomValue(inp, depth + 1);
      return o;
    }
  }
}

/** Every container in the document, with the keys (or indexes) it holds. */
function containers(v: Json, out: (Json[] | Record<string, Json>)[] = []): (Json[] | Record<string, Json>)[] {
  if (v !== null && typeof v === 'object') {
    out.push(v);
    for (const x of Array.isArray(v) ? v : Object.values(v)) containers(x, out);
  }
  return out;
}

function edited(inp: FuzzInput): string {
  const doc = structuredClone(inp.pick(BASE_CONFIGS)) as Json;
  for (let n = inp.int(6); n >= 0; n--) {
    const all = containers(doc);
    const c = inp.pick(all);
    if (Array.isArray(c)) {
      const op = inp.int(3);
      if (op === 0 || c.length === 0) c.push(randomValue(inp, 0));
      else if (op === 1) c.splice(inp.int(c.length), 1);
      else c[inp.int(c.length)] = randomValue(inp, 0);
    } else {
      const keys = Object.keys(c);
      const op = inp.int(4);
      if (op === 0 || keys.length === 0) c[inp.pick(KEYS)] = randomValue(inp, 0);
      else if (op === 1) delete c[inp.pick(keys)];
      else c[inp.pick(keys)] = randomValue(inp, 0);
    }
  }
  return JSON.stringify(doc);
}

const STACK_LINE = /\n\s+at |\bat [\w.<>]+ \(|node:internal/;

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const text =
    (data[0]! & 1) === 0 ? data.subarray(1).toString('utf8') : edited(new FuzzInput(data.subarray(1)));
  const r = validateConfigText(text, { env: ENV });
  check(Array.isArray(r.warnings), 'warnings is not a list');
  if (r.ok) {
    const again = validateConfig(r.config, { env: ENV });
    check(again.ok, () => `a config the loader returned does not validate: ${show(again)}`);
    const canonical = stringifyConfig(r.config);
    if (!canonical.includes('$')) {
      const reloaded = validateConfigText(canonical, { env: ENV });
      check(reloaded.ok, () => `the canonical text does not load: ${show(reloaded)}`);
      check(isDeepStrictEqual(reloaded.config, r.config), () => `reload differs: ${canonical.slice(0, 200)}`);
    }
    return;
  }
  check(r.problems.length > 0, 'rejected without a problem');
  for (const p of r.problems) {
    check(typeof p.path === 'string' && typeof p.message === 'string', () => `problem shape ${show(p)}`);
    check(
      p.message.length > 0 && p.message.length <= 1000,
      () => `problem message length ${p.message.length}`,
    );
    check(!p.message.includes('\n') && !p.path.includes('\n'), () => `multi-line problem ${show(p)}`);
    check(!STACK_LINE.test(p.message), () => `stack trace in a problem: ${show(p)}`);
  }
  const lines = new ConfigError(r.problems, 'stunnerd.conf').message.split('\n');
  check(lines[0] === 'stunnerd.conf is invalid:', 'ConfigError heading');
  check(lines.length === r.problems.length + 1, 'ConfigError: one line per problem');
  for (const l of lines.slice(1))
    check(/^ {2}\S.*: \S/.test(l), () => `not a "path: reason" line: ${show(l)}`);
}

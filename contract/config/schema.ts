/**
 * The dataplane config contract: STUNner's v1 stunnerd config, as zod schemas.
 *
 * This file is the single source of the config shape. The TypeScript types, the validator and
 * the JSON Schema in docs/ are all derived from it, and constructs/ imports the types from here.
 */
import * as z from 'zod';
import { isAdminEndpoint } from '../admin-endpoint.js';
import { MAX_PORT, MIN_PORT } from '../checks.js';
import {
  DEFAULT_ADMIN_NAME,
  DEFAULT_HEALTHCHECK_ENDPOINT,
  DEFAULT_LOGLEVEL,
  DEFAULT_MAX_ALLOCATIONS,
  DEFAULT_PORT,
  DEFAULT_REALM,
} from '../defaults.js';
import { quote } from './quote.js';
import {
  API_VERSION,
  AUTH_FAILURE_WINDOW_S,
  AUTH_TYPES,
  CLUSTER_PROTOCOLS,
  CLUSTER_TYPES,
  DEFAULT_AUTH_FAILURES_PER_IP,
  DEFAULT_CLIENT_QUOTA,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_NEW_CONNECTIONS_PER_IP,
  LISTENER_PROTOCOL_ALIASES,
  LISTENER_PROTOCOLS,
  LOG_LEVELS,
  OFFLOAD_ENGINES,
  type StunnerConfig,
  type StunnerConfigInput,
} from './types.js';

/** Matches a word in any letter case, without a regex flag, so the JSON Schema keeps it. */
function anyCase(word: string): string {
  return [...word]
    .map((c) => (/[a-z]/i.test(c) ? `[${c.toUpperCase()}${c.toLowerCase()}]` : c.replace(/[-_]/, '\\$&')))
    .join('');
}

/** A case-insensitive enum that normalizes to its canonical spelling. */
function caseInsensitiveEnum<T extends string>(
  canonical: readonly T[],
  aliases: Readonly<Record<string, T>>,
  what: string,
) {
  const table = new Map<string, T>();
  for (const c of canonical) table.set(c.toUpperCase(), c);
  for (const [alias, c] of Object.entries(aliases)) table.set(alias.toUpperCase(), c);
  const pattern = `^(${[...table.keys()].map(anyCase).join('|')})$`;
  const accepted = [...canonical, ...Object.keys(aliases)].join(', ');
  return z
    .string({ error: (iss) => `expected ${what} as a string, got ${describe(iss.input)}` })
    .regex(new RegExp(pattern), {
      error: (iss) => `${quote(iss.input)} is not a valid ${what}; use one of ${accepted}`,
    })
    .transform((s) => table.get(s.toUpperCase()) as T);
}

/** Short, safe rendering of a bad value for an error message. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return `${typeof v} ${String(v)}`;
}

const str = (what: string) =>
  z.string({ error: (iss) => `expected ${what} as a string, got ${describe(iss.input)}` });

const port = (what = 'port') =>
  z
    .number({ error: (iss) => `${describe(iss.input)} is not a valid ${what}` })
    .int({ error: (iss) => `${iss.input} is not a valid ${what}` })
    .min(MIN_PORT, { error: (iss) => `${iss.input} is not a valid ${what}` })
    .max(MAX_PORT, { error: (iss) => `${iss.input} is not a valid ${what}` });

const count = (what: string, max: number) =>
  z
    .number({ error: (iss) => `expected ${what} as a whole number, got ${describe(iss.input)}` })
    .int({ error: (iss) => `${iss.input} is not a whole number` })
    .min(0, { error: (iss) => `${iss.input} is negative; ${what} must be 0 or more` })
    .max(max, { error: (iss) => `${iss.input} is too large; ${what} is at most ${max}` });

const httpEndpoint = (what: string) =>
  str(what).refine(isAdminEndpoint, {
    error: (iss) => `${describe(iss.input)} is not a valid ${what}; expected http://[address][:port][/path]`,
  });

const LOGLEVEL_ITEM = new RegExp(`^([A-Za-z0-9_*-]+:)?(${LOG_LEVELS.map(anyCase).join('|')})$`);
const loglevel = str('log level').refine(
  (s) => s.split(',').every((item) => LOGLEVEL_ITEM.test(item.trim())),
  {
    error: (iss) =>
      `${describe(iss.input)} is not a valid log level; expected "scope:LEVEL,..." with LEVEL one of ${LOG_LEVELS.join(', ')}`,
  },
);

const AdminSchema = z
  .strictObject({
    name: str('name')
      .default(DEFAULT_ADMIN_NAME)
      .describe('Gateway name; the operator convention is <namespace>/<gateway>.'),
    loglevel: loglevel.default(DEFAULT_LOGLEVEL).describe('Log levels per scope, e.g. all:INFO,turn:DEBUG.'),
    metrics_endpoint: httpEndpoint('metrics endpoint')
      .default('')
      .describe('Prometheus endpoint, e.g. http://:8080/metrics; empty disables metrics.'),
    healthcheck_endpoint: httpEndpoint('health-check endpoint')
      .default(DEFAULT_HEALTHCHECK_ENDPOINT)
      .describe('Serves /live, /ready and /status; empty disables it.'),
    user_quota: count('user quota', 1_000_000)
      .default(0)
      .describe(
        'Allocations per username; with ephemeral (TURN REST) auth the quota counts per user id, the username without its expiry field (<expiry>:<user-id> counts as <user-id>); 0 means no quota.',
      ),
    /** Extension: allocations per client IP, reservations included; 0 = unlimited. */
    client_quota: count('client quota', 1_000_000)
      .default(DEFAULT_CLIENT_QUOTA)
      .describe(
        'Extension: allocations one client IP address may hold at once, EVEN-PORT reservations included (per relay thread); 0 means unlimited.',
      ),
    /** Extension: per-IP failed-authentication limit; 0 = off. */
    auth_failures_per_ip: count('auth failures per IP', 1_000_000)
      .default(DEFAULT_AUTH_FAILURES_PER_IP)
      .describe(
        `Extension: failed authentications one client IP may make within ${AUTH_FAILURE_WINDOW_S} s of its first failure; past that its TURN requests are dropped until those ${AUTH_FAILURE_WINDOW_S} s end, so a correct password is refused for at most ${AUTH_FAILURE_WINDOW_S} s (per relay thread); 0 turns the limit off.`,
      ),
    /** Extension: global cap on concurrent allocations. */
    max_allocations: count('max allocations', 1_000_000).default(DEFAULT_MAX_ALLOCATIONS),
    /** Extension: concurrent TCP/TLS connections from one client IP per listener; 0 = unlimited. */
    max_connections_per_ip: count('max connections per IP', 1_000_000)
      .default(DEFAULT_MAX_CONNECTIONS_PER_IP)
      .describe(
        'Extension: concurrent TCP/TLS connections one client IP may hold per listener; 0 means unlimited.',
      ),
    /** Extension: new TCP/TLS connections per second from one client IP per listener; 0 = unlimited. */
    new_connections_per_ip: count('new connections per IP', 1_000_000)
      .default(DEFAULT_NEW_CONNECTIONS_PER_IP)
      .describe(
        'Extension: new TCP/TLS connections per second one client IP may open per listener (bursts up to twice that); 0 means unlimited.',
      ),
    /** Extension: relay worker threads (honoured where dgram supports reusePort). */
    threads: count('threads', 64).min(1, { error: 'threads must be at least 1' }).default(1),
    /** Accepted for STUNner compatibility; this runtime has no kernel offload. */
    offload_engine: caseInsensitiveEnum(OFFLOAD_ENGINES, {}, 'offload engine').optional(),
    offload_interfaces: z.array(str('interface name')).optional(),
    license_config: z.strictObject({ key: str('license key'), hmac: str('license hmac') }).optional(),
  })
  .meta({ description: 'Administrative settings of the gateway.' });

const CredentialsSchema = z
  .strictObject({
    username: str('username').optional(),
    password: str('password').optional(),
    secret: str('secret').optional(),
  })
  .meta({ description: 'username+password for static auth, secret for ephemeral auth.' });

const AuthSchema = z.strictObject({
  type: caseInsensitiveEnum(AUTH_TYPES, { plaintext: 'static', longterm: 'ephemeral' }, 'auth type').default(
    'static',
  ),
  realm: str('realm')
    .min(1, { error: 'realm must not be empty' })
    .regex(/^[\x21-\x7e]+$/, { error: 'realm must be printable ASCII without spaces' })
    .default(DEFAULT_REALM),
  credentials: CredentialsSchema,
});

const ListenerSchema = z.strictObject({
  name: str('listener name').min(1, { error: 'listener name must not be empty' }),
  protocol: caseInsensitiveEnum(LISTENER_PROTOCOLS, LISTENER_PROTOCOL_ALIASES, 'listener protocol').default(
    'TURN-UDP',
  ),
  // `$STUNNER_ADDR` unset in a local run expands to "", which means every address.
  address: str('address')
    .transform((s) => (s === '' ? '0.0.0.0' : s))
    .default('0.0.0.0'),
  port: port().default(DEFAULT_PORT),
  public_address: str('public address')
    .optional()
    .describe('Address clients reach the listener at (informational).'),
  public_port: port('public port').optional(),
  /** Extension (from v1alpha1): relay port range; absent means kernel-assigned ports. */
  min_relay_port: port('relay port').optional(),
  max_relay_port: port('relay port').optional(),
  cert: str('certificate').optional().describe('Base64-encoded PEM certificate (TURN-TLS, TURN-DTLS).'),
  key: str('key').optional().describe('Base64-encoded PEM private key (TURN-TLS, TURN-DTLS).'),
  routes: z
    .array(str('route name'))
    .default([])
    .describe('Names of the clusters this listener may relay to.'),
});

const ClusterSchema = z.strictObject({
  name: str('cluster name').min(1, { error: 'cluster name must not be empty' }),
  type: caseInsensitiveEnum(CLUSTER_TYPES, {}, 'cluster type').default('STATIC'),
  protocol: caseInsensitiveEnum(CLUSTER_PROTOCOLS, {}, 'cluster protocol').default('UDP'),
  endpoints: z
    .array(str('endpoint'))
    .default([])
    .describe('IP, IP/prefix or DNS name (STRICT_DNS), optionally followed by :<lo-hi> to limit peer ports.'),
});

export const StunnerConfigSchema = z
  .strictObject({
    version: z.literal(API_VERSION, {
      error: (iss) =>
        iss.input === undefined
          ? 'is required; expected "v1"'
          : `${describe(iss.input)} is not supported; expected "v1"`,
    }),
    admin: AdminSchema.prefault({}),
    auth: AuthSchema,
    listeners: z.array(ListenerSchema).default([]),
    clusters: z.array(ClusterSchema).default([]),
  })
  .meta({
    title: 'STUNner dataplane configuration (v1)',
    description:
      'The stunnerd config: what a gateway listens on, how it authenticates, and where it may relay.',
  });

// The published types (types.ts) and what the schema produces must be the same, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const outputMatches: Same<z.output<typeof StunnerConfigSchema>, StunnerConfig> = true;
const inputAccepted: [StunnerConfigInput] extends [z.input<typeof StunnerConfigSchema>] ? true : false = true;
void outputMatches;
void inputAccepted;

/** The fields each object in the config may carry, for did-you-mean hints. */
export const KNOWN_FIELDS: ReadonlyMap<string, readonly string[]> = new Map([
  ['', Object.keys(StunnerConfigSchema.shape)],
  ['admin', Object.keys(AdminSchema.shape)],
  ['admin.license_config', ['key', 'hmac']],
  ['auth', Object.keys(AuthSchema.shape)],
  ['auth.credentials', Object.keys(CredentialsSchema.shape)],
  ['listeners[]', Object.keys(ListenerSchema.shape)],
  ['clusters[]', Object.keys(ClusterSchema.shape)],
]);

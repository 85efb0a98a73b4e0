import { describe, expect, it } from 'vitest';
import { validateConfig, validateConfigText } from '../../../contract/config/index.js';

const PEM = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

/** A valid base config; each case breaks one thing in a copy of it. */
function base(): Record<string, any> {
  return {
    version: 'v1',
    admin: { name: 'stunner/udp-gateway', loglevel: 'all:INFO' },
    auth: {
      type: 'static',
      realm: 'stunner.l7mp.io',
      credentials: { username: 'user-1', password: 'pass-1' },
    },
    listeners: [
      { name: 'stunner/udp-gateway/udp', protocol: 'TURN-UDP', port: 3478, routes: ['stunner/media'] },
    ],
    clusters: [{ name: 'stunner/media', type: 'STATIC', endpoints: ['10.0.0.0/8'] }],
  };
}

type Case = [name: string, mutate: (c: Record<string, any>) => void, path: string, reason: RegExp];

const cases: Case[] = [
  [
    'port out of range',
    (c) => (c.listeners[0].port = 70000),
    'listeners[0].port',
    /^70000 is not a valid port$/,
  ],
  ['port zero', (c) => (c.listeners[0].port = 0), 'listeners[0].port', /^0 is not a valid port$/],
  [
    'port fractional',
    (c) => (c.listeners[0].port = 3478.5),
    'listeners[0].port',
    /3478.5 is not a valid port/,
  ],
  ['port as text', (c) => (c.listeners[0].port = 'http'), 'listeners[0].port', /"http" is not a valid port/],
  [
    'unknown protocol',
    (c) => (c.listeners[0].protocol = 'SCTP'),
    'listeners[0].protocol',
    /"SCTP" is not a valid listener protocol/,
  ],
  [
    'unknown top-level field',
    (c) => (c.listner = []),
    'listner',
    /unknown field; did you mean "listeners"\?/,
  ],
  [
    'unknown listener field',
    (c) => (c.listeners[0].prot = 'UDP'),
    'listeners[0].prot',
    /did you mean "port"\?/,
  ],
  ['unknown admin field', (c) => (c.admin.loglvl = 'all:INFO'), 'admin.loglvl', /did you mean "loglevel"\?/],
  [
    'unknown credentials field',
    (c) => (c.auth.credentials.pasword = 'x'),
    'auth.credentials.pasword',
    /did you mean "password"\?/,
  ],
  ['missing version', (c) => delete c.version, 'version', /is required/],
  ['unsupported version', (c) => (c.version = 'v2'), 'version', /"v2" is not supported/],
  ['missing auth', (c) => delete c.auth, 'auth', /is required/],
  ['bad auth type', (c) => (c.auth.type = 'oauth'), 'auth.type', /"oauth" is not a valid auth type/],
  [
    'static without password',
    (c) => delete c.auth.credentials.password,
    'auth.credentials.password',
    /is required for static auth/,
  ],
  [
    'ephemeral without secret',
    (c) => (c.auth = { type: 'ephemeral', credentials: {} }),
    'auth.credentials.secret',
    /is required for ephemeral auth/,
  ],
  [
    'secret with static auth',
    (c) => (c.auth.credentials.secret = 's'),
    'auth.credentials.secret',
    /not used by static auth/,
  ],
  ['empty realm', (c) => (c.auth.realm = ''), 'auth.realm', /realm must not be empty/],
  ['missing listener name', (c) => delete c.listeners[0].name, 'listeners[0].name', /is required/],
  [
    'duplicate listener name',
    (c) => c.listeners.push({ ...c.listeners[0], port: 3479 }),
    'listeners[1].name',
    /duplicate listener name/,
  ],
  [
    'port clash',
    (c) => c.listeners.push({ name: 'b', protocol: 'udp', port: 3478 }),
    'listeners[1].port',
    /3478\/udp is already used by listeners\[0\]/,
  ],
  [
    'TLS without cert',
    (c) => c.listeners.push({ name: 't', protocol: 'TURN-TLS', port: 443, key: PEM }),
    'listeners[1].cert',
    /is required for a TURN-TLS listener/,
  ],
  [
    'TLS cert not PEM',
    (c) => c.listeners.push({ name: 't', protocol: 'tls', port: 443, cert: 'bm90IHBlbQ==', key: PEM }),
    'listeners[1].cert',
    /not base64-encoded PEM/,
  ],
  [
    'route to unknown cluster',
    (c) => (c.listeners[0].routes = ['stunner/medai']),
    'listeners[0].routes[0]',
    /no cluster named "stunner\/medai"; did you mean "stunner\/media"\?/,
  ],
  [
    'bad address',
    (c) => (c.listeners[0].address = 'my-host'),
    'listeners[0].address',
    /"my-host" is not an IP address/,
  ],
  [
    'bad public address',
    (c) => (c.listeners[0].public_address = 'not a host!'),
    'listeners[0].public_address',
    /neither an IP address nor a DNS name/,
  ],
  [
    'relay range half-set',
    (c) => (c.listeners[0].min_relay_port = 10000),
    'listeners[0].max_relay_port',
    /is required when the other end/,
  ],
  [
    'relay range inverted',
    (c) => Object.assign(c.listeners[0], { min_relay_port: 20000, max_relay_port: 10000 }),
    'listeners[0].min_relay_port',
    /20000 is above max_relay_port 10000/,
  ],
  [
    'routes not a list',
    (c) => (c.listeners[0].routes = 'stunner/media'),
    'listeners[0].routes',
    /expected array, got "stunner\/media"/,
  ],
  [
    'bad cluster type',
    (c) => (c.clusters[0].type = 'EDS'),
    'clusters[0].type',
    /"EDS" is not a valid cluster type/,
  ],
  [
    'bad cluster protocol',
    (c) => (c.clusters[0].protocol = 'SCTP'),
    'clusters[0].protocol',
    /"SCTP" is not a valid cluster protocol/,
  ],
  [
    'duplicate cluster',
    (c) => c.clusters.push({ name: 'stunner/media' }),
    'clusters[1].name',
    /duplicate cluster name/,
  ],
  [
    'DNS name in STATIC cluster',
    (c) => (c.clusters[0].endpoints = ['media.default.svc']),
    'clusters[0].endpoints[0]',
    /needs cluster type STRICT_DNS/,
  ],
  [
    'bad prefix length',
    (c) => (c.clusters[0].endpoints = ['10.0.0.0/33']),
    'clusters[0].endpoints[0]',
    /"\/33" is not a valid IPv4 prefix length/,
  ],
  [
    'inverted port range',
    (c) => (c.clusters[0].endpoints = ['10.0.0.1:<2000-1000>']),
    'clusters[0].endpoints[0]',
    /is empty \(low > high\)/,
  ],
  [
    'port range over 65535',
    (c) => (c.clusters[0].endpoints = ['10.0.0.1:<1-70000>']),
    'clusters[0].endpoints[0]',
    /exceeds 65535/,
  ],
  [
    'malformed port range',
    (c) => (c.clusters[0].endpoints = ['10.0.0.1:<1000>']),
    'clusters[0].endpoints[0]',
    /malformed port range/,
  ],
  [
    'bad DNS name',
    (c) => (c.clusters[0] = { name: 'd', type: 'STRICT_DNS', endpoints: ['bad_name!.svc'] }),
    'clusters[0].endpoints[0]',
    /not a valid DNS name/,
  ],
  ['bad log level', (c) => (c.admin.loglevel = 'all:LOUD'), 'admin.loglevel', /not a valid log level/],
  [
    'metrics endpoint without scheme',
    (c) => (c.admin.metrics_endpoint = ':8080/metrics'),
    'admin.metrics_endpoint',
    /not a valid metrics endpoint/,
  ],
  [
    'health endpoint bad port',
    (c) => (c.admin.healthcheck_endpoint = 'http://:99999'),
    'admin.healthcheck_endpoint',
    /not a valid health-check endpoint/,
  ],
  ['negative quota', (c) => (c.admin.user_quota = -1), 'admin.user_quota', /-1 is negative/],
  ['zero threads', (c) => (c.admin.threads = 0), 'admin.threads', /threads must be at least 1/],
  ['listeners not a list', (c) => (c.listeners = { name: 'x' }), 'listeners', /expected array/],
  [
    'credentials not an object',
    (c) => (c.auth.credentials = 'user:pass'),
    'auth.credentials',
    // the string is a credential: its kind is named, not its text
    /^expected an object, got a string \(value not shown\)$/,
  ],
];

describe('invalid configs', () => {
  it('covers at least 25 cases', () => expect(cases.length).toBeGreaterThanOrEqual(25));

  it.each(cases)('%s', (_name, mutate, path, reason) => {
    const c = base();
    mutate(c);
    const r = validateConfig(c, { env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const match = r.problems.find((p) => p.path === path);
    expect(match, `no problem at ${path}; got ${JSON.stringify(r.problems)}`).toBeDefined();
    expect(match!.message).toMatch(reason);
  });

  it('the base config itself is valid', () => {
    expect(validateConfig(base(), { env: {} }).ok).toBe(true);
  });

  it('reports every problem of one document at once', () => {
    const c = base();
    c.listeners[0].port = 70000;
    c.auth.type = 'oauth';
    c.clusters[0].endpoints = ['10.0.0.0/40'];
    c.listeners[0].routes = ['nope'];
    const r = validateConfig(c, { env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path).sort()).toEqual(
      ['auth.type', 'clusters[0].endpoints[0]', 'listeners[0].port', 'listeners[0].routes[0]'].sort(),
    );
  });

  it('rejects non-objects and YAML syntax errors with a position', () => {
    const r1 = validateConfig(['v1']);
    expect(r1.ok || r1.problems[0]).toEqual({ path: '', message: 'expected an object, got a list' });
    const r2 = validateConfigText('version: v1\nauth: [\n');
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.problems[0]!.path).toMatch(/^line \d+, column \d+$/);
    const r3 = validateConfigText('version: v1\nversion: v1\n');
    expect(r3.ok || r3.problems[0]!.message).toMatch(/unique/);
  });

  it('never throws, whatever the input', () => {
    for (const v of [
      null,
      42,
      'x',
      [],
      { version: null },
      { version: 'v1', auth: null, listeners: [null, 1] },
    ]) {
      expect(() => validateConfig(v, { env: {} })).not.toThrow();
      expect(validateConfig(v, { env: {} }).ok).toBe(false);
    }
  });
});

describe('credentials are never echoed in a problem', () => {
  // `password: 12345` in YAML is a number: the type error named the value, and the relay's
  // reload log and stunnerctl printed it.
  const hostile: [where: string, mutate: (c: Record<string, any>) => void][] = [
    ['password as a number', (c) => (c.auth.credentials.password = 12345)],
    ['password as a boolean', (c) => (c.auth.credentials.password = true)],
    ['password as a list', (c) => (c.auth.credentials.password = [12345])],
    [
      'secret as a number',
      (c) => (c.auth = { type: 'ephemeral', realm: 'r', credentials: { secret: 12345 } }),
    ],
    ['credentials as a number', (c) => (c.auth.credentials = 12345)],
    ['listener key as a number', (c) => Object.assign(c.listeners[0], { protocol: 'TURN-TLS', key: 12345 })],
    ['license key and hmac', (c) => (c.admin.license_config = { key: 12345, hmac: 12345 })],
  ];

  it.each(hostile)('%s', (_name, mutate) => {
    const c = base();
    mutate(c);
    const r = validateConfig(c, { env: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.length).toBeGreaterThan(0);
    const text = JSON.stringify(r.problems);
    expect(text).not.toContain('12345');
    expect(text).not.toContain('true');
  });

  it('says what kind of value was found, and where', () => {
    const c = base();
    c.auth.credentials.password = 12345;
    const r = validateConfigText(`${JSON.stringify(c)}\n`, { env: {} });
    expect(r.ok || r.problems).toEqual([
      { path: 'auth.credentials.password', message: 'expected a string, got a number (value not shown)' },
    ]);
  });

  it('a value outside the credentials is still quoted', () => {
    const c = base();
    c.auth.realm = 12345;
    const r = validateConfig(c, { env: {} });
    expect(r.ok || r.problems[0]!.message).toMatch(/got number 12345/);
  });
});

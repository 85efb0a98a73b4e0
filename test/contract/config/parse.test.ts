import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseConfig,
  stringifyConfig,
  validateConfig,
  validateConfigText,
} from '../../../contract/config/index.js';
import { configJsonSchema } from '../../../contract/config/write-schema.js';

// The shape STUNner's operator renders into the stunnerd ConfigMap (JSON).
const OPERATOR_RENDERED = `{
  "version": "v1",
  "admin": { "name": "stunner/udp-gateway", "loglevel": "all:INFO",
             "metrics_endpoint": "http://:8080/metrics", "healthcheck_endpoint": "http://0.0.0.0:8086" },
  "auth": { "type": "static", "realm": "stunner.l7mp.io",
            "credentials": { "password": "pass-1", "username": "user-1" } },
  "listeners": [ { "name": "stunner/udp-gateway/udp-listener", "protocol": "TURN-UDP",
                   "public_address": "34.118.36.108", "public_port": 3478,
                   "address": "$STUNNER_ADDR", "port": 3478, "routes": [ "stunner/iperf-server" ] } ],
  "clusters": [ { "name": "stunner/iperf-server", "type": "STATIC", "protocol": "udp",
                  "endpoints": [ "10.76.1.4", "10.98.85.204" ] } ]
}`;

// A hand-written standalone config in STUNner's older documented YAML form.
const V1ALPHA1_YAML = `
version: v1alpha1
admin:
  name: stunner-daemon
  loglevel: all:INFO
auth:
  type: plaintext
  realm: stunner.l7mp.io
  credentials:
    username: user1
    password: passwd1
listeners:
  - name: default-listener
    protocol: udp
    port: 3478
    min_relay_port: 32768
    max_relay_port: 65535
    routes:
      - allow-any
clusters:
  - name: allow-any
    type: STATIC
    endpoints:
      - 0.0.0.0/0
`;

describe('STUNner documented shapes', () => {
  it('parses the operator-rendered JSON to the expected values', () => {
    const r = validateConfigText(OPERATOR_RENDERED, { env: { STUNNER_ADDR: '10.76.1.9' } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config).toEqual({
      version: 'v1',
      admin: {
        name: 'stunner/udp-gateway',
        loglevel: 'all:INFO',
        metrics_endpoint: 'http://:8080/metrics',
        healthcheck_endpoint: 'http://0.0.0.0:8086',
        user_quota: 0,
        client_quota: 200,
        auth_failures_per_ip: 0,
        max_allocations: 10000,
        max_connections_per_ip: 100,
        new_connections_per_ip: 20,
        threads: 1,
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
          address: '10.76.1.9',
          port: 3478,
          routes: ['stunner/iperf-server'],
        },
      ],
      clusters: [
        {
          name: 'stunner/iperf-server',
          type: 'STATIC',
          protocol: 'UDP',
          endpoints: ['10.76.1.4', '10.98.85.204'],
        },
      ],
    });
    expect(r.warnings).toEqual([]);
  });

  it('fills STUNner defaults into a minimal config', () => {
    const c = parseConfig({
      version: 'v1',
      auth: { credentials: { username: 'u', password: 'p' } },
      listeners: [{ name: 'l' }],
    });
    expect(c.admin).toMatchObject({
      name: 'default-stunnerd',
      loglevel: 'all:INFO',
      healthcheck_endpoint: 'http://:8086',
      metrics_endpoint: '',
    });
    expect(c.auth).toMatchObject({ type: 'static', realm: 'stunner.l7mp.io' });
    expect(c.listeners[0]).toEqual({
      name: 'l',
      protocol: 'TURN-UDP',
      address: '0.0.0.0',
      port: 3478,
      routes: [],
    });
    expect(c.clusters).toEqual([]);
  });

  it('keeps an explicitly empty health-check endpoint (disabled)', () => {
    const c = parseConfig({
      version: 'v1',
      admin: { healthcheck_endpoint: '' },
      auth: { credentials: { username: 'u', password: 'p' } },
    });
    expect(c.admin.healthcheck_endpoint).toBe('');
  });

  it.each([
    ['udp', 'TURN-UDP'],
    ['Tcp', 'TURN-TCP'],
    ['TLS', 'TURN-TLS'],
    ['turn-dtls', 'TURN-DTLS'],
    ['TURN-UDP', 'TURN-UDP'],
  ])('normalizes listener protocol %s to %s', (given, want) => {
    const pem = Buffer.from('-----BEGIN X-----').toString('base64');
    const c = parseConfig({
      version: 'v1',
      auth: { credentials: { username: 'u', password: 'p' } },
      listeners: [{ name: 'l', protocol: given, cert: pem, key: pem }],
    });
    expect(c.listeners[0]!.protocol).toBe(want);
  });

  it('accepts the auth type aliases', () => {
    expect(
      parseConfig({
        version: 'v1',
        auth: { type: 'plaintext', credentials: { username: 'u', password: 'p' } },
      }).auth.type,
    ).toBe('static');
    expect(
      parseConfig({ version: 'v1', auth: { type: 'LongTerm', credentials: { secret: 's' } } }).auth.type,
    ).toBe('ephemeral');
  });

  it('round-trips: the canonical text of a config parses back to the same config', () => {
    const c = parseConfig(JSON.parse(OPERATOR_RENDERED), { env: { STUNNER_ADDR: '10.0.0.1' } });
    expect(parseConfig(JSON.parse(stringifyConfig(c)), { env: {} })).toEqual(c);
  });
});

describe('environment substitution', () => {
  const doc = {
    version: 'v1',
    admin: { name: '${NS}/gw' },
    auth: { realm: '$REALM', credentials: { username: '$USER_NAME', password: 'pa$$w0rd$HOME' } },
    listeners: [{ name: 'l', address: '$STUNNER_ADDR', port: '$PORT', routes: [] }],
  };
  const env = {
    NS: 'media',
    REALM: 'example.org',
    STUNNER_ADDR: '10.1.2.3',
    PORT: '3479',
    USER_NAME: 'x',
    HOME: '/root',
  };

  it('substitutes $VAR and ${VAR} everywhere but auth.credentials', () => {
    const c = parseConfig(doc, { env });
    expect(c.admin.name).toBe('media/gw');
    expect(c.auth.realm).toBe('example.org');
    expect(c.listeners[0]!.address).toBe('10.1.2.3');
    expect(c.listeners[0]!.port).toBe(3479);
    expect(c.auth.credentials).toEqual({ username: '$USER_NAME', password: 'pa$$w0rd$HOME' });
  });

  it('warns about unset variables and treats an unset address as every address', () => {
    const r = validateConfig(
      { ...doc, auth: { credentials: { username: 'u', password: 'p' } } },
      { env: { PORT: '1' } },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.listeners[0]!.address).toBe('0.0.0.0');
    expect(r.warnings).toContain('environment variable $STUNNER_ADDR is not set; it expands to ""');
  });

  it('substituted values are validated like written ones', () => {
    const r = validateConfig(doc, { env: { ...env, PORT: '70000' } });
    expect(r.ok || r.problems).toEqual([{ path: 'listeners[0].port', message: '70000 is not a valid port' }]);
  });
});

describe('v1alpha1 conversion', () => {
  it('converts the documented v1alpha1 YAML to v1', () => {
    const r = validateConfigText(V1ALPHA1_YAML, { env: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.warnings).toContain('converted a v1alpha1 config to v1');
    expect(r.config.version).toBe('v1');
    expect(r.config.auth).toEqual({
      type: 'static',
      realm: 'stunner.l7mp.io',
      credentials: { username: 'user1', password: 'passwd1' },
    });
    expect(r.config.listeners[0]).toMatchObject({
      protocol: 'TURN-UDP',
      min_relay_port: 32768,
      max_relay_port: 65535,
      routes: ['allow-any'],
    });
    expect(r.config.clusters[0]).toEqual({
      name: 'allow-any',
      type: 'STATIC',
      protocol: 'UDP',
      endpoints: ['0.0.0.0/0'],
    });
  });

  it('maps longterm to ephemeral', () => {
    const c = parseConfig({ version: 'v1alpha1', auth: { type: 'longterm', credentials: { secret: 's3' } } });
    expect(c.auth).toMatchObject({ type: 'ephemeral', credentials: { secret: 's3' } });
  });

  it('reports v1alpha1 problems at their v1 paths', () => {
    const r = validateConfig({
      version: 'v1alpha1',
      auth: { type: 'plaintext', credentials: { username: 'u' } },
    });
    expect(r.ok || r.problems).toEqual([
      { path: 'auth.credentials.password', message: 'is required for static auth' },
    ]);
  });
});

describe('JSON Schema', () => {
  it('docs/stunnerd-config.schema.json is generated from the current schema', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../../../docs/stunnerd-config.schema.json', import.meta.url), 'utf8'),
    );
    expect(committed, 'stale: run npm run schema').toEqual(configJsonSchema());
  });

  it('describes the listener fields and the protocol spellings', () => {
    const s = configJsonSchema() as any;
    const listener = s.properties.listeners.items;
    expect(Object.keys(listener.properties)).toEqual(
      expect.arrayContaining(['name', 'protocol', 'port', 'routes']),
    );
    expect(listener.additionalProperties).toBe(false);
    expect(new RegExp(listener.properties.protocol.pattern).test('tUrN-uDp')).toBe(true);
    expect(new RegExp(listener.properties.protocol.pattern).test('SCTP')).toBe(false);
  });
});

/**
 * `stunnerctl import`: STUNner's tutorials' Gateway API YAML (re-typed in fixtures/) becomes a chart
 * that typechecks (tsc --noEmit, 'stunner-gitops' mapped to this checkout's constructs), synthesizes
 * in-process, and renders the dataplane config STUNner's operator renders for those objects.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { importStunnerYaml } from '../../../runtime/cli/import.js';
import { main } from '../../../runtime/cli/stunnerctl.js';

const REPO = resolve(import.meta.dirname, '../../..');
const FIXTURES = join(import.meta.dirname, 'fixtures');
mkdirSync(join(REPO, '.bench-build'), { recursive: true });
const TMP = mkdtempSync(join(REPO, '.bench-build', 'import-test-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const fixture = (f: string) => ({ name: `fixtures/${f}`, text: readFileSync(join(FIXTURES, f), 'utf8') });

type Config = {
  admin: { name: string };
  auth: { type: string; realm: string };
  listeners: { name: string; protocol: string; port: number; public_address?: string; routes: string[] }[];
  clusters: { name: string; type: string; endpoints: string[] }[];
};

async function synthConfigs(name: string, source: string): Promise<Record<string, Config>> {
  const file = join(TMP, `${name}.synth.ts`);
  writeFileSync(
    file,
    source.replace("'stunner-gitops'", `'${pathToFileURL(join(REPO, 'constructs/index.ts')).href}'`),
  );
  const mod = (await import(pathToFileURL(file).href)) as Record<
    string,
    new (
      s: unknown,
      id: string,
    ) => unknown
  >;
  const app = Testing.app();
  const chart = new mod.ImportedChart!(app, 'imported');
  const out: Record<string, Config> = {};
  for (const o of Testing.synth(chart as never) as { kind: string; data?: Record<string, string> }[]) {
    const text = o.kind === 'ConfigMap' ? o.data?.['stunnerd.conf'] : undefined;
    if (text) {
      const c = JSON.parse(text) as Config;
      out[c.admin.name] = c;
    }
  }
  return out;
}

/** The fields STUNner's operator decides: listeners, auth, routes, clusters. */
function essentials(c: Config) {
  return {
    auth: { type: c.auth.type, realm: c.auth.realm },
    listeners: c.listeners.map((l) => ({
      name: l.name,
      protocol: l.protocol,
      port: l.port,
      ...(l.public_address && { public_address: l.public_address }),
      routes: l.routes,
    })),
    clusters: c.clusters.map((x) => ({ name: x.name, type: x.type, endpoints: x.endpoints })),
  };
}

const udp = (gw: string, routes: string[], port = 3478) => ({
  name: `stunner/${gw}/udp-listener`,
  protocol: 'TURN-UDP',
  port,
  routes,
});

// What STUNner's operator renders for each tutorial (names ns/gateway/listener and ns/route; a
// Service backend is its DNS name, which the in-pod watcher expands to the ready pod IPs and the
// ClusterIP, as the operator does from EndpointSlices; headless routes hold the gateways' pods).
const EXPECTED: Record<string, Record<string, ReturnType<typeof essentials>>> = {
  'direct-one2one.yaml': {
    'stunner/udp-gateway': {
      auth: { type: 'ephemeral', realm: 'stunner.l7mp.io' },
      listeners: [udp('udp-gateway', ['stunner/stunner-headless'])],
      clusters: [
        {
          name: 'stunner/stunner-headless',
          type: 'STRICT_DNS',
          // Narrower than the operator (issue 15): the gateways' relay port range only.
          endpoints: [
            '$STUNNER_ADDR:<32768-60999>',
            'udp-gateway.stunner.svc.cluster.local:<32768-60999>',
            'tcp-gateway.stunner.svc.cluster.local:<32768-60999>',
          ],
        },
      ],
    },
    'stunner/tcp-gateway': {
      auth: { type: 'ephemeral', realm: 'stunner.l7mp.io' },
      listeners: [
        {
          name: 'stunner/tcp-gateway/tcp-listener',
          protocol: 'TURN-TCP',
          port: 3478,
          routes: ['stunner/stunner-headless'],
        },
      ],
      clusters: [
        {
          name: 'stunner/stunner-headless',
          type: 'STRICT_DNS',
          // Narrower than the operator (issue 15): the gateways' relay port range only.
          endpoints: [
            '$STUNNER_ADDR:<32768-60999>',
            'udp-gateway.stunner.svc.cluster.local:<32768-60999>',
            'tcp-gateway.stunner.svc.cluster.local:<32768-60999>',
          ],
        },
      ],
    },
  },
  'mediasoup.yaml': {
    'stunner/udp-gateway': {
      auth: { type: 'static', realm: 'stunner.l7mp.io' },
      listeners: [udp('udp-gateway', ['stunner/mediasoup-media-plane'])],
      clusters: [
        {
          name: 'stunner/mediasoup-media-plane',
          type: 'STRICT_DNS',
          endpoints: ['mediasoup-server.mediasoup.svc.cluster.local'],
        },
      ],
    },
  },
  'cloudretro.yaml': {
    'stunner/udp-gateway': {
      auth: { type: 'static', realm: 'stunner.l7mp.io' },
      listeners: [udp('udp-gateway', ['stunner/worker-udp-route'])],
      clusters: [
        {
          name: 'stunner/worker-udp-route',
          type: 'STRICT_DNS',
          endpoints: ['worker-ci-udp-svc.cloudretro.svc.cluster.local:<8443-8443>'],
        },
      ],
    },
  },
  'annotations.yaml': {
    'media/mixed-gateway': {
      auth: { type: 'ephemeral', realm: 'example.org' },
      listeners: [
        {
          name: 'media/mixed-gateway/udp-listener',
          protocol: 'TURN-UDP',
          port: 13478,
          public_address: '198.51.100.42',
          routes: ['media/media', 'media/media/static'],
        },
        {
          name: 'media/mixed-gateway/tcp-listener',
          protocol: 'TURN-TCP',
          port: 3479,
          public_address: '198.51.100.42',
          routes: [],
        },
      ],
      clusters: [
        {
          name: 'media/media',
          type: 'STRICT_DNS',
          endpoints: ['media-server.media.svc.cluster.local:<10000-20000>'],
        },
        { name: 'media/media/static', type: 'STATIC', endpoints: ['10.10.0.0/16'] },
      ],
    },
  },
};

describe('stunnerctl import: STUNner tutorials round-trip', () => {
  const generated = new Map<string, string>();
  for (const f of Object.keys(EXPECTED)) {
    const r = importStunnerYaml([fixture(f)]);
    generated.set(f, r.source);
  }

  it('maps every object of the tutorials (nothing unmapped)', () => {
    for (const f of Object.keys(EXPECTED)) expect(importStunnerYaml([fixture(f)]).unmapped, f).toEqual([]);
  });

  it('writes charts that typecheck against the package (tsc --noEmit)', () => {
    const dir = join(TMP, 'tsc');
    mkdirSync(dir, { recursive: true });
    for (const [f, src] of generated) writeFileSync(join(dir, `${f.replace('.yaml', '')}.ts`), src);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(REPO, 'tsconfig.json'),
        compilerOptions: { noEmit: true, paths: { 'stunner-gitops': [join(REPO, 'constructs/index.ts')] } },
        include: ['*.ts'],
      }),
    );
    const r = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', dir], {
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  for (const [f, gateways] of Object.entries(EXPECTED)) {
    it(`${f}: the synthesized dataplane config is what STUNner's operator renders`, async () => {
      const configs = await synthConfigs(f.replace('.yaml', ''), generated.get(f)!);
      expect(Object.keys(configs).sort()).toEqual(Object.keys(gateways).sort());
      for (const [gw, want] of Object.entries(gateways)) expect(essentials(configs[gw]!), gw).toEqual(want);
    });
  }

  it('maps the Gateway annotations to the Service', async () => {
    const src = generated.get('annotations.yaml')!;
    const file = join(TMP, 'svc.synth.ts');
    writeFileSync(
      file,
      src.replace("'stunner-gitops'", `'${pathToFileURL(join(REPO, 'constructs/index.ts')).href}'`),
    );
    const mod = (await import(pathToFileURL(file).href)) as Record<
      string,
      new (
        s: unknown,
        id: string,
      ) => unknown
    >;
    const chart = new mod.ImportedChart!(Testing.app(), 'imported');
    const svc = (Testing.synth(chart as never) as { kind: string; spec?: Record<string, unknown> }[]).find(
      (o) => o.kind === 'Service',
    )!;
    expect(svc.spec).toMatchObject({
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      sessionAffinity: 'None',
      ports: [
        { name: 'udp-listener', port: 3478, protocol: 'UDP', nodePort: 30478, targetPort: 13478 },
        { name: 'tcp-listener', port: 3479, protocol: 'TCP', nodePort: 30479 },
      ],
    });
  });
});

describe('stunnerctl import: what cannot be mapped', () => {
  const run = async (yaml: string) => {
    const file = join(TMP, `case-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['import', file], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join(''), err: err.join('') };
  };
  const base = readFileSync(join(FIXTURES, 'cloudretro.yaml'), 'utf8');

  it('lists an unknown kind and exits 3', async () => {
    const r = await run(
      `${base}---\napiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: f, namespace: stunner}\n`,
    );
    expect(r.code).toBe(3);
    expect(r.err).toContain('not mapped: Frobnicator stunner/f: unknown kind example.com/v1 Frobnicator');
    expect(r.out).toContain('new StunnerGateway');
  });

  it('lists a route to a missing gateway and exits 3', async () => {
    const r = await run(
      `${base}---\napiVersion: stunner.l7mp.io/v1\nkind: UDPRoute\nmetadata: {name: lost, namespace: stunner}\nspec:\n  parentRefs: [{name: no-such-gateway}]\n  rules: [{backendRefs: [{name: x}]}]\n`,
    );
    expect(r.code).toBe(3);
    expect(r.err).toContain(
      'not mapped: UDPRoute stunner/lost: parent Gateway stunner/no-such-gateway is not in the input',
    );
    expect(r.out).not.toContain('"lost"');
  });

  it('lists a DTLS listener (unsupported by the runtime) and keeps the rest of the gateway', async () => {
    const r = await run(
      base.replace(
        '      protocol: TURN-UDP\n',
        '      protocol: TURN-UDP\n    - name: dtls-listener\n      port: 3479\n      protocol: TURN-DTLS\n',
      ),
    );
    expect(r.code).toBe(3);
    expect(r.err).toContain(
      'not mapped: Gateway stunner/udp-gateway listener dtls-listener: TURN-DTLS is not supported by this runtime',
    );
    expect(r.out).toContain('udp-listener');
    expect(r.out).not.toContain('dtls-listener');
  });

  it('exits 1 with one line when no gateway can be mapped, and on YAML it cannot read', async () => {
    const dtlsOnly = await run(base.replace('protocol: TURN-UDP', 'protocol: TURN-DTLS'));
    expect(dtlsOnly.code).toBe(1);
    expect(dtlsOnly.err.trim().split('\n')).toHaveLength(1);
    expect(dtlsOnly.err).toMatch(/no Gateway could be mapped/);
    const bad = await run('kind: [unclosed');
    expect(bad.code).toBe(1);
  });
});

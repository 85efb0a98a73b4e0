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
import tsApi from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { importStunnerYaml } from '../../../tools/stunnerctl/import/index.js';
import { main } from '../../../tools/stunnerctl/stunnerctl.js';

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

  it("maps the Dataplane's replicas, resources and scheduling to props, lists the rest, and says how to use the chart", async () => {
    const r = await run(
      `${base}---\napiVersion: stunner.l7mp.io/v1\nkind: Dataplane\nmetadata: {name: default}\nspec:\n  replicas: 3\n  image: docker.io/l7mp/stunnerd:latest\n  imagePullPolicy: Always\n  resources: {limits: {cpu: '2', memory: 512Mi}, requests: {cpu: 250m}}\n  terminationGracePeriodSeconds: 600\n  hostNetwork: false\n`,
    );
    expect(r.code).toBe(3);
    expect(r.out).toContain('replicas: 3');
    expect(r.out).toContain('imagePullPolicy: "Always"');
    expect(r.out).toMatch(/resources: \{/);
    expect(r.out).toContain('terminationGracePeriodSeconds: 600');
    expect(r.err).toContain('not mapped: Dataplane default image');
    expect(r.err).toContain('not mapped: Dataplane default hostNetwork');
    expect(r.err).toMatch(/new ImportedChart\(app, 'stunner'\)/);
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

describe('stunnerctl import: hostile file names and YAML cannot write code', () => {
  // Each payload tries to leave a string literal or a comment and call INJECTEDn().
  const PAYLOADS = [
    '\nglobalThis.INJECTED1(); //',
    '*/ globalThis.INJECTED2(); /*',
    '"); globalThis.INJECTED3(); ("',
    '\\"); globalThis.INJECTED4(); //',
    '\u2028globalThis.INJECTED5(); //',
    '\u2029globalThis.INJECTED6(); //',
    '`${globalThis.INJECTED7()}`',
    "'); globalThis.INJECTED8(); ('",
    '\r\u0085\u202eglobalThis.INJECTED9(); //',
  ];
  const p = (i: number) => PAYLOADS[i % PAYLOADS.length]!;
  const doc = (o: unknown) => JSON.stringify(o);
  const gw = (ns: string, name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: {
      name,
      namespace: ns,
      annotations: {
        [`example.com/${p(3)}`]: p(4),
        // an own __proto__ key, as YAML parses it (a literal key here would set the prototype)
        ...JSON.parse(`{"__proto__": ${JSON.stringify(p(5))}}`),
        'stunner.l7mp.io/service-type': 'NodePort',
      },
    },
    spec: {
      gatewayClassName: 'cls',
      addresses: [{ type: 'IPAddress', value: p(6) }],
      listeners: [{ name: p(7), port: 3478, protocol: 'TURN-UDP' }],
      ...extra,
    },
  });
  const yaml = [
    doc({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: 'cls' },
      spec: {
        controllerName: 'stunner.l7mp.io/gateway-operator',
        parametersRef: { name: 'cfg', namespace: p(0) },
      },
    }),
    doc({
      apiVersion: 'stunner.l7mp.io/v1',
      kind: 'GatewayConfig',
      metadata: { name: 'cfg', namespace: p(0) },
      spec: { realm: p(1), logLevel: p(2), authType: 'static', userName: p(3), password: p(8) },
    }),
    doc(gw(p(0), p(1))),
    doc({
      apiVersion: 'stunner.l7mp.io/v1',
      kind: 'GatewayConfig',
      metadata: { name: 'eph', namespace: 'e' },
      spec: { authType: 'ephemeral', sharedSecret: p(2) },
    }),
    doc({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: 'cls2' },
      spec: {
        controllerName: 'stunner.l7mp.io/gateway-operator',
        parametersRef: { name: 'eph', namespace: 'e' },
      },
    }),
    doc({ ...gw('e', p(5)), spec: { ...gw('e', p(5)).spec, gatewayClassName: 'cls2' } }),
    doc({
      apiVersion: 'stunner.l7mp.io/v1',
      kind: 'StaticService',
      metadata: { name: 'st', namespace: p(0) },
      spec: { prefixes: [p(4), p(6)] },
    }),
    doc({
      apiVersion: 'stunner.l7mp.io/v1',
      kind: 'UDPRoute',
      metadata: { name: p(2), namespace: p(0) },
      spec: {
        parentRefs: [{ name: p(1), sectionName: p(7) }],
        rules: [
          {
            backendRefs: [
              { name: p(8), namespace: p(3) },
              { group: 'stunner.l7mp.io', kind: 'StaticService', name: 'st' },
            ],
          },
        ],
      },
    }),
  ].join('\n---\n');
  // A real file whose path holds a newline and `*/`.
  const dir = join(TMP, 'a\nglobalThis.INJECTED0();\n*');
  const file = join(dir, 'x\u2028globalThis.INJECTED10(); \u2028.yaml');

  /** Every identifier of the chart, and every string literal's value. */
  function walk(source: string) {
    const sf = tsApi.createSourceFile('chart.ts', source, tsApi.ScriptTarget.Latest, true);
    const ids = new Set<string>();
    const strings = new Set<string>();
    const visit = (n: import('typescript').Node) => {
      if (tsApi.isIdentifier(n)) ids.add(n.text);
      if (tsApi.isStringLiteral(n)) strings.add(n.text);
      tsApi.forEachChild(n, visit);
    };
    visit(sf);
    return { sf, ids, strings };
  }

  it('escapes every string: the chart typechecks, holds each value exactly, and calls nothing injected', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, yaml);
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['import', file], { out: (s) => out.push(s), err: (s) => err.push(s) });
    const source = out.join('');
    expect(code, err.join('')).toBe(0);
    // printable ASCII and newlines only: no line separator, bidi control or C1 character
    expect(source).toMatch(/^[\x20-\x7e\n]*$/);
    const { sf, ids, strings } = walk(source);
    // (variable names are camel-cased from the names, so they may spell INJECTED, but are declared)
    expect([...ids].filter((i) => i === 'globalThis' || /^INJECTED\d+$/.test(i))).toEqual([]);
    expect(sf.statements.map((s) => tsApi.SyntaxKind[s.kind])).toEqual([
      'ImportDeclaration',
      'ImportDeclaration',
      'ImportDeclaration',
      'ClassDeclaration',
    ]);
    for (const v of PAYLOADS) expect(strings, JSON.stringify(v)).toContain(v);
    // the file name stays inside the first line's comment, as a string literal
    const [first, second] = source.split('\n');
    expect(first).toMatch(/^\/\/ Generated by `stunnerctl import` from ".*"\.$/);
    expect(first).not.toContain('*/');
    expect(second).toMatch(/^\/\/ STUNner Gateway API objects/);
    expect(JSON.parse(first!.slice(first!.indexOf('"'), -1))).toBe(file);
    // the same source inside a block comment stays one comment
    expect(walk(`/* ${source} */`).sf.statements).toHaveLength(0);

    const tscDir = join(TMP, 'tsc-hostile');
    mkdirSync(tscDir, { recursive: true });
    writeFileSync(join(tscDir, 'hostile.ts'), source);
    writeFileSync(
      join(tscDir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(REPO, 'tsconfig.json'),
        compilerOptions: { noEmit: true, paths: { 'stunner-gitops': [join(REPO, 'constructs/index.ts')] } },
        include: ['*.ts'],
      }),
    );
    const r = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', tscDir], {
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});

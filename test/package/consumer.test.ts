/**
 * The library as a user gets it: `npm pack`, then a fresh project installs the tarball and
 * synthesizes a chart with `cdk8s synth`.
 * - CommonJS under ts-node, laid out as `cdk8s init typescript-app` lays it out (its tsconfig,
 *   cdk8s-plus-33, @types/node 14, no skipLibCheck);
 * - an ES module project under tsx.
 * Both typecheck with strict tsc, and both render the runtime this repository's dist/ carries,
 * byte for byte (the same runtime-sha256), without a bundler in the consumer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CDK8S = join(ROOT, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
const SHA_ANNOTATION = 'stunner.l7mp.io/runtime-sha256';
/** What `cdk8s init typescript-app` depends on today (its template), pinned for a repeatable test. */
const CONSUMER_DEPENDENCIES = { cdk8s: '2.70.106', 'cdk8s-plus-33': '2.5.57', constructs: '10.8.1' };
/**
 * The tarball carries the prebuilt runtime (about 0.5 MB gzipped) and compiled code: nothing else.
 * 1.1 MiB since issue 27: the pods' runtime carries yargs (stunnerd's command line, about 45 kB
 * gzipped); the tarball was 1,047,652 bytes before, 1,098,092 with it.
 */
const MAX_TARBALL_BYTES = Math.round(1.1 * 1024 * 1024);

const work = mkdtempSync(join(tmpdir(), 'consumer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}
let pack: PackResult;
let tarball: string;

function run(cmd: string, args: string[], cwd: string, timeout = 240_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, CI: 'true' } });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed in ${cwd} (exit ${r.status}):\n${r.stdout}\n${r.stderr}`,
    );
  return r.stdout;
}

/** A chart as a user writes it: a gateway, a route to a cdk8s-plus-33 Service, an ICE auth service. */
function chartSource(moduleSystem: 'cjs' | 'esm'): string {
  return `import { App, Chart, type ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import { GatewayRuntime, IceAuthService, MediaRoute, StunnerGateway, TurnAuth } from 'stunner-gitops';
import { DEFAULT_PORT, validateConfig } from 'stunner-gitops/config';
import { SimpleTunnel } from 'stunner-gitops/demos';
import { MultiClusterApp } from 'stunner-gitops/gitops';
import { getIceConfig } from 'stunner-gitops/ice-client';

export class MediaChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);
    const gateway = new StunnerGateway(this, 'udp-gateway', {
      auth: TurnAuth.ephemeral('stunner-auth-secret'),
      runtime: GatewayRuntime.bundle(),
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: DEFAULT_PORT }],
    });
    const media = new kplus.Service(this, 'media-server', {
      metadata: { name: 'media-server' },
      ports: [{ port: 10000, protocol: kplus.Protocol.UDP }],
    });
    media.selectLabel('app', 'media-server');
    const route = new MediaRoute(this, 'media', { parents: [gateway] });
    route.addService(media, { port: 10000, endPort: 20000 });
    new IceAuthService(this, 'ice-auth', {
      gateways: [gateway],
      allowFrom: [{ podSelector: { matchLabels: { app: 'webrtc-server' } } }],
    });
  }
}

// The subpaths load too: the demos, the Argo CD constructs, the config contract and the ICE
// client application servers use.
if (
  typeof validateConfig !== 'function' ||
  typeof getIceConfig !== 'function' ||
  typeof SimpleTunnel !== 'function' ||
  typeof MultiClusterApp !== 'function'
)
  throw new Error('subpath exports');
const app = new App();
new MediaChart(app, 'media-${moduleSystem}', { namespace: 'stunner' });
app.synth();
`;
}

function writeProject(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** The runtime digest of every gateway pod in a synthesized output directory. */
/** The manifests under `outdir`, recursively (this repository's dist/ has one directory per cluster). */
function manifests(outdir: string): string[] {
  return readdirSync(outdir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.k8s.yaml'))
    .sort();
}

function runtimeShas(outdir: string): string[] {
  const shas = new Set<string>();
  for (const f of manifests(outdir)) {
    for (const d of parseAllDocuments(readFileSync(join(outdir, f), 'utf8'))) {
      const o = d.toJS();
      const sha = o?.spec?.template?.metadata?.annotations?.[SHA_ANNOTATION];
      if (o?.kind === 'Deployment' && sha) shas.add(sha);
    }
  }
  return [...shas];
}

function runtimeConfigMap(outdir: string): string | undefined {
  for (const f of manifests(outdir)) {
    for (const d of parseAllDocuments(readFileSync(join(outdir, f), 'utf8'))) {
      const o = d.toJS();
      if (o?.kind === 'ConfigMap' && o.metadata?.name === 'stunnerd-runtime')
        return o.binaryData?.['stunnerd.mjs.gz'];
    }
  }
  return undefined;
}

beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // prepack's build prints before npm's JSON.
  pack = (JSON.parse(out.slice(out.indexOf('[\n'))) as PackResult[])[0]!;
  tarball = join(work, pack.filename);
}, 320_000);

describe('npm pack', () => {
  it('ships compiled code, types and the prebuilt runtime, and nothing else', () => {
    const size = statSync(tarball).size;
    console.log(
      `tarball ${pack.filename}: ${(size / 1024).toFixed(0)} KiB, ${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.files.length} files`,
    );
    const paths = pack.files.map((f) => f.path);
    for (const needed of [
      'package.json',
      'LICENSE',
      'bin/stunnerd.mjs',
      'lib/constructs/index.js',
      'lib/constructs/index.d.ts',
      'lib/contract/index.d.ts',
      'lib/runtime/ice/client.d.ts',
      'lib/constructs/demos/index.d.ts',
      'lib/constructs/gitops/index.d.ts',
      'lib/cjs/index.cjs',
      'lib/cjs/demos.cjs',
      'lib/cjs/gitops.cjs',
      'lib/cjs/constructs.cjs',
      'lib/cjs/config.cjs',
      'lib/cjs/ice-client.cjs',
      'lib/assets/stunnerd.mjs.gz',
      'lib/assets/bootstrap.mjs',
      'lib/assets/runtime.json',
      // the demo servers the demo constructs put in their ConfigMaps
      'lib/assets/demos/demos.json',
      'lib/assets/demos/bootstrap.mjs',
      'lib/assets/demos/udp-greeter.mjs.gz',
      'lib/assets/demos/direct-call.mjs.gz',
      'lib/assets/demos/janus-echo.mjs.gz',
    ])
      expect(paths, needed).toContain(needed);
    const strays = paths.filter(
      (p) => !/^(lib\/|bin\/(stunnerd|turncat|stunnerctl)\.mjs$|package\.json$|README\.md$|LICENSE$)/.test(p),
    );
    expect(strays).toEqual([]);
    expect(paths.filter((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    expect(size).toBeLessThan(MAX_TARBALL_BYTES);
  });
});

describe.each([
  {
    kind: 'cjs' as const,
    title: 'a `cdk8s init typescript-app` project (CommonJS, ts-node, cdk8s-plus-33)',
    files: (): Record<string, string> => {
      const template = join(ROOT, 'node_modules', 'cdk8s-cli', 'templates', 'typescript-app');
      return {
        'package.json': JSON.stringify(
          {
            name: 'my-gitops',
            version: '1.0.0',
            main: 'main.js',
            types: 'main.ts',
            private: true,
            dependencies: { ...CONSUMER_DEPENDENCIES, 'stunner-gitops': `file:${tarball}` },
            devDependencies: { '@types/node': '^14', 'ts-node': '^10', typescript: '5.9.x' },
          },
          null,
          2,
        ),
        // The template's own compiler options, unchanged: CommonJS, lib es2016, strict, no skipLibCheck.
        'tsconfig.json': readFileSync(join(template, 'tsconfig.json'), 'utf8'),
        'cdk8s.yaml': 'language: typescript\napp: npx ts-node main.ts\n',
        'main.ts': chartSource('cjs'),
      };
    },
  },
  {
    kind: 'esm' as const,
    title: 'an ES module project under tsx',
    files: (): Record<string, string> => ({
      'package.json': JSON.stringify(
        {
          name: 'my-gitops-esm',
          version: '1.0.0',
          type: 'module',
          private: true,
          dependencies: { ...CONSUMER_DEPENDENCIES, 'stunner-gitops': `file:${tarball}` },
          devDependencies: { '@types/node': '^20', tsx: '^4', typescript: '5.9.x' },
        },
        null,
        2,
      ),
      'tsconfig.json': JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noEmit: true,
            verbatimModuleSyntax: true,
          },
          include: ['*.ts'],
        },
        null,
        2,
      ),
      'cdk8s.yaml': 'language: typescript\napp: npx tsx main.ts\n',
      'main.ts': chartSource('esm'),
    }),
  },
])('consumer: $title', ({ kind, files }) => {
  const dir = join(work, kind);

  beforeAll(() => {
    writeProject(dir, files());
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir);
  }, 300_000);

  it('installs one copy of cdk8s and constructs: the consumer’s', () => {
    const ls = JSON.parse(run('npm', ['ls', 'cdk8s', 'constructs', '--all', '--json'], dir)) as {
      dependencies: Record<string, { dependencies?: Record<string, unknown> }>;
    };
    expect(ls.dependencies['stunner-gitops']).toBeDefined();
    const nested = readdirSync(join(dir, 'node_modules', 'stunner-gitops'));
    expect(nested).not.toContain('node_modules');
  });

  it('synthesizes with `cdk8s synth`, rendering the runtime of this repository’s dist/', () => {
    run(process.execPath, [CDK8S, 'synth', '--no-check-upgrade'], dir, 240_000);
    const outdir = join(dir, 'dist');
    const kinds = parseAllDocuments(readFileSync(join(outdir, `media-${kind}.k8s.yaml`), 'utf8')).map(
      (d) => `${d.toJS().kind}/${d.toJS().metadata.name}`,
    );
    for (const expected of ['Deployment/udp-gateway', 'Service/udp-gateway', 'Deployment/stunner-auth'])
      expect(kinds).toContain(expected);
    const config = parseAllDocuments(readFileSync(join(outdir, `media-${kind}.k8s.yaml`), 'utf8'))
      .map((d) => d.toJS())
      .find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'udp-gateway-config');
    const clusters = JSON.parse(config.data['stunnerd.conf']).clusters;
    expect(clusters).toEqual([
      expect.objectContaining({
        name: 'stunner/media',
        endpoints: ['media-server.stunner.svc.cluster.local:<10000-20000>'],
      }),
    ]);

    const repoShas = runtimeShas(join(ROOT, 'dist'));
    expect(repoShas).toHaveLength(1);
    expect(runtimeShas(outdir)).toEqual(repoShas);
    expect(runtimeConfigMap(outdir)).toBe(runtimeConfigMap(join(ROOT, 'dist')));
  });

  it('installs the command-line tools, running the shipped runtime', () => {
    const bin = (name: string) => join(dir, 'node_modules', '.bin', name);
    expect(run(bin('stunnerd'), ['--help'], dir)).toMatch(/usage: stunnerd/);
    expect(run(bin('turncat'), ['--help'], dir)).toMatch(/turncat/);
    // The operator tool reads this repository's committed dist/ and draws its routes.
    const graph = run(bin('stunnerctl'), ['graph', '-f', join(ROOT, 'dist')], dir);
    expect(graph).toMatch(/^flowchart LR/);
    expect(graph).toContain('cluster eu-west');
  });

  it('typechecks with strict tsc, against the package’s declarations only', () => {
    run(join(dir, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.'], dir);
    // No public type may need a devDependency of ours, and synth needs no bundler (tsx brings
    // esbuild along for itself in the ES module project; the CommonJS project has none).
    const installed = readdirSync(join(dir, 'node_modules'));
    for (const dev of ['kubernetes-models', 'cdk8s-plus-27', '@kubernetes-models', 'fflate'])
      expect(installed, dev).not.toContain(dev);
    if (kind === 'cjs') expect(installed).not.toContain('esbuild');
  });
});

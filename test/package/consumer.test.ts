/**
 * The library as a user gets it: `npm pack` (or the tarball named by $STUNNER_GITOPS_TARBALL: the
 * release workflow tests the file it then publishes), installed into fresh projects.
 * - The README's consumer section, walked as written: its shell blocks run in a fresh directory
 *   (`git init`, `npx cdk8s-cli init typescript-app`, the install, the template's own
 *   `npm test -- -u` and `npm run build`, the `.gitignore` edit, `git add` and `git commit`), and
 *   its chart is the project's `main.ts`. Then, on that commit, docs/gitops.md's CI check, and its
 *   multi-cluster `main.ts` and `main.test.ts` built the same way. Every TypeScript block of both
 *   documents compiles under the template's tsconfig (strict, noUnusedLocals/Parameters).
 * - An ES module project under tsx.
 * Both render the runtime this repository's dist/ carries, byte for byte (the same
 * runtime-sha256), without a bundler in the consumer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { hasDigest } from '../../contract/images.js';
import { containerImages, imageFieldCount } from '../helpers/container-images.js';
import { type CodeBlock, codeBlocks, section } from './markdown.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CDK8S = join(ROOT, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
const SHA_ANNOTATION = 'stunner.l7mp.io/runtime-sha256';
/** What `cdk8s init typescript-app` depends on today (its template), pinned for a repeatable test. */
const CONSUMER_DEPENDENCIES = { cdk8s: '2.70.106', 'cdk8s-plus-33': '2.5.57', constructs: '10.8.1' };
/**
 * The tarball carries the prebuilt runtime (about 0.5 MB gzipped, with yargs for stunnerd's command
 * line since issue 27), compiled code and, since the pods' bundle no longer carries the operator
 * tools, the tools' own bundle (lib/tools/, with its own Kubernetes client): about 1.1 MB. Nothing
 * else.
 */
const MAX_TARBALL_BYTES = 1.25 * 1024 * 1024;
/** Client-side apply keeps a copy of the object in an annotation the apiserver caps at this. */
const LAST_APPLIED_LIMIT = 262_144;

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const GITOPS_MD = readFileSync(join(ROOT, 'docs', 'gitops.md'), 'utf8');

const work = mkdtempSync(join(tmpdir(), 'consumer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let tarball: string;
let tarballFiles: string[];

function run(cmd: string, args: string[], cwd: string, timeout = 240_000, env = process.env): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...env, CI: 'true' } });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed in ${cwd} (exit ${r.status}):\n${r.stdout}\n${r.stderr}`,
    );
  return r.stdout;
}

/** A chart as a user writes it: a gateway, a route to a cdk8s-plus-33 Service, an ICE auth service. */
function chartSource(): string {
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
new MediaChart(app, 'media-esm', { namespace: 'stunner' });
app.synth();
`;
}

function writeProject(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** The manifests under `outdir`, recursively (this repository's dist/ has one directory per cluster). */
function manifests(outdir: string): string[] {
  return readdirSync(outdir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.k8s.yaml'))
    .sort();
}

/** Every object of a rendered manifest file, whatever its kind. */
function objectsOf(file: string): any[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
}

/** The runtime digest of every gateway pod in a synthesized output directory. */
function runtimeShas(outdir: string): string[] {
  const shas = new Set<string>();
  for (const f of manifests(outdir)) {
    for (const o of objectsOf(join(outdir, f))) {
      const sha = o?.spec?.template?.metadata?.annotations?.[SHA_ANNOTATION];
      if (o?.kind === 'Deployment' && sha) shas.add(sha);
    }
  }
  return [...shas];
}

function runtimeConfigMap(outdir: string): string | undefined {
  for (const f of manifests(outdir)) {
    for (const o of objectsOf(join(outdir, f))) {
      if (o?.kind === 'ConfigMap' && o.metadata?.name === 'stunnerd-runtime')
        return o.binaryData?.['stunnerd.mjs.gz'];
    }
  }
  return undefined;
}

/** The routes of a gateway's dataplane config, from a rendered file. */
function dataplaneClusters(file: string, gateway: string): unknown {
  const config = objectsOf(file).find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === `${gateway}-config`,
  );
  return JSON.parse(config.data['stunnerd.conf']).clusters;
}

beforeAll(() => {
  const given = process.env.STUNNER_GITOPS_TARBALL;
  if (given) {
    tarball = resolve(given);
  } else {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // prepack's build prints before npm's JSON.
    tarball = join(work, (JSON.parse(out.slice(out.indexOf('[\n'))) as { filename: string }[])[0]!.filename);
  }
  tarballFiles = run('tar', ['-tzf', tarball], work)
    .split('\n')
    .filter((p) => p && !p.endsWith('/'))
    .map((p) => p.replace(/^package\//, ''));
}, 320_000);

describe('npm pack', () => {
  it('ships compiled code, types and the prebuilt runtime, and nothing else', () => {
    const size = statSync(tarball).size;
    console.log(
      `tarball ${basename(tarball)}: ${(size / 1024).toFixed(0)} KiB, ${tarballFiles.length} files`,
    );
    const paths = tarballFiles;
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
      (p) =>
        !/^(lib\/|bin\/(stunnerd|turncat|stunnerctl|tools)\.mjs$|package\.json$|README\.md$|LICENSE$)/.test(
          p,
        ),
    );
    expect(strays).toEqual([]);
    expect(paths.filter((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    expect(size).toBeLessThan(MAX_TARBALL_BYTES);
  });

  it('is publishable: repository, homepage, bugs and public access with provenance', () => {
    const pkg = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json'], work));
    // npm resolves the README's relative links against `repository`
    expect(pkg.repository).toEqual({
      type: 'git',
      url: expect.stringMatching(/^git\+https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/),
    });
    const web = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
    expect(pkg.homepage).toBe(`${web}#readme`);
    expect(pkg.bugs).toEqual({ url: `${web}/issues` });
    expect(pkg.publishConfig).toEqual({ access: 'public', provenance: true });
  });
});

/** How the walk runs the docs' shell lines: a fresh user, no cluster, no GitHub. */
interface Walk {
  readonly env: NodeJS.ProcessEnv;
  /** The project directory the README's first block creates and enters. */
  readonly dir: string;
  /** Shell lines of the docs the walk does not run, and why. */
  readonly skipped: { line: string; why: string }[];
}

/** Lines left out of the walk: each needs something a test run has not. */
const SKIP: { match: RegExp; why: string }[] = [
  {
    match: /^npm install stunner-gitops$/,
    why: 'the registry install: the package under test is the tarball, which the next block installs',
  },
  { match: /^kubectl /, why: 'needs a cluster: test:cluster applies the committed dist/ server-side' },
];

/**
 * `cdk8s init`'s template runs `cdk8s import k8s`, which downloads the Kubernetes schema from
 * raw.githubusercontent.com, which CI cannot reach. This preload answers that one URL with a
 * one-kind schema; nothing the docs write uses the imported types.
 */
const OFFLINE_K8S_SCHEMA = `const https = require('node:https');
const { EventEmitter } = require('node:events');
const { PassThrough } = require('node:stream');
const PREFIX = 'https://raw.githubusercontent.com/cdk8s-team/cdk8s/master/kubernetes-schemas/';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const SCHEMA = JSON.stringify({
  definitions: {
    [META]: { type: 'object', properties: { name: { type: 'string' }, namespace: { type: 'string' } } },
    'io.k8s.api.core.v1.ConfigMap': {
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { $ref: '#/definitions/' + META },
        data: { type: 'object', additionalProperties: { type: 'string' } },
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'ConfigMap', version: 'v1' }],
    },
  },
});
const get = https.get;
https.get = function (url, ...rest) {
  if (typeof url !== 'string' || !url.startsWith(PREFIX)) return get.call(this, url, ...rest);
  const callback = rest.find((a) => typeof a === 'function');
  const req = Object.assign(new EventEmitter(), { end() {} });
  const res = Object.assign(new PassThrough(), { statusCode: 200, headers: {} });
  process.nextTick(() => {
    callback(res);
    res.end(SCHEMA);
  });
  return req;
};
`;

function walkEnv(): NodeJS.ProcessEnv {
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'gitconfig'), '');
  const preload = join(work, 'offline-k8s-schema.cjs');
  writeFileSync(preload, OFFLINE_K8S_SCHEMA);
  // never the repository's git (GIT_DIR and the like), nor the machine's git config
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
  return {
    ...inherited,
    CI: 'true',
    GIT_CONFIG_GLOBAL: join(home, 'gitconfig'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Consumer Test',
    GIT_AUTHOR_EMAIL: 'consumer@example.com',
    GIT_COMMITTER_NAME: 'Consumer Test',
    GIT_COMMITTER_EMAIL: 'consumer@example.com',
    // the user's "yes" to npx's "Need to install cdk8s-cli. Ok to proceed?"
    npm_config_yes: 'true',
    npm_config_prefer_offline: 'true',
    npm_config_update_notifier: 'false',
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
  };
}

/** Runs a documented shell block as written, but for the SKIP lines. */
function runBlock(walk: Walk, block: CodeBlock, cwd: string): string {
  const lines = block.code.split('\n').filter((line) => {
    const skip = SKIP.find((s) => s.match.test(line.trim()));
    if (skip) walk.skipped.push({ line: line.trim(), why: skip.why });
    return !skip;
  });
  // --norc: bash sources the system bashrc when its stdin is a socket (libuv's pipes are), as if
  // run by sshd; a user's shell runs the block, not that file under -u.
  const r = spawnSync('bash', ['--norc', '-euo', 'pipefail', '-c', lines.join('\n')], {
    cwd,
    encoding: 'utf8',
    timeout: 600_000,
    env: walk.env,
  });
  if (r.status !== 0)
    throw new Error(
      `the block at line ${block.line} failed in ${cwd} (exit ${r.status}):\n${lines.join('\n')}\n` +
        `--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  return r.stdout;
}

const gitFiles = (dir: string, env: NodeJS.ProcessEnv) =>
  run('git', ['ls-tree', '-r', '--name-only', 'HEAD'], dir, 60_000, env).split('\n').filter(Boolean);

describe('the README’s consumer section, walked as written (cdk8s init typescript-app)', () => {
  const consumer = section(README, '## Use it in your own cdk8s app');
  const blocks = codeBlocks(consumer);
  const gitopsTs = codeBlocks(GITOPS_MD).filter((b) => b.lang === 'ts');
  let walk: Walk;
  let projectFiles: string[];

  beforeAll(() => {
    const first = blocks[0]!;
    const mkdir = /^mkdir (\S+) && cd \1$/m.exec(first.code);
    if (!mkdir) throw new Error('the consumer section starts with `mkdir <dir> && cd <dir>`');
    walk = { env: walkEnv(), dir: join(work, mkdir[1]!), skipped: [] };
    // the local install names the tarball beside the project, as `npm pack` in a checkout writes it
    const local = /^npm install (\.\.\/\S+\.tgz)$/m.exec(consumer);
    if (!local) throw new Error('the consumer section installs a local tarball');
    expect(basename(local[1]!), 'the README installs the version npm pack writes').toBe(basename(tarball));
    mkdirSync(join(walk.dir, local[1]!, '..'), { recursive: true });
    copyFileSync(tarball, join(walk.dir, local[1]!));

    for (const block of blocks) {
      if (block.lang === 'sh') runBlock(walk, block, block === first ? work : walk.dir);
      else if (block.lang === 'ts') writeFileSync(join(walk.dir, 'main.ts'), block.code);
      else throw new Error(`a ${block.lang || 'plain'} block at line ${block.line}: the walk runs sh and ts`);
    }
    projectFiles = gitFiles(walk.dir, walk.env);
  }, 1_500_000);

  it('has one chart, the template’s `MyChart`, and runs every line but the registry install and kubectl', () => {
    expect(blocks.filter((b) => b.lang === 'ts')).toHaveLength(1);
    expect(blocks.find((b) => b.lang === 'ts')!.code).toContain('export class MyChart extends Chart');
    expect(walk.skipped.map((s) => s.line)).toEqual([
      'npm install stunner-gitops',
      'kubectl apply --server-side -f dist/',
      expect.stringMatching(/^kubectl -n stunner create secret generic stunner-auth-secret /),
    ]);
  });

  it('commits the code, package.json, its lock file and dist/, and leaves nothing else behind', () => {
    for (const f of [
      'package.json',
      'package-lock.json',
      'main.ts',
      'main.test.ts',
      'cdk8s.yaml',
      '.gitignore',
    ])
      expect(projectFiles, f).toContain(f);
    // the chart's file, and the runtime ConfigMap of its namespace in a file of its own
    expect(projectFiles.filter((f) => f.startsWith('dist/'))).toEqual([
      'dist/my-gitops.k8s.yaml',
      'dist/stunnerd-runtime-stunner.k8s.yaml',
    ]);
    expect(
      projectFiles.filter((f) => f.startsWith('node_modules/') || /(?<!jest\.config)\.js$/.test(f)),
    ).toEqual([]);
    expect(run('git', ['status', '--porcelain'], walk.dir, 60_000, walk.env)).toBe('');
    // what a colleague's `npm ci` cannot follow, as the README says
    const pkg = JSON.parse(readFileSync(join(walk.dir, 'package.json'), 'utf8'));
    expect(pkg.dependencies['stunner-gitops']).toBe(`file:../stunner-gitops/${basename(tarball)}`);
  });

  it('renders its namespace, the route to the media Service, and the runtime of this repository’s dist/', () => {
    const file = join(walk.dir, 'dist', 'my-gitops.k8s.yaml');
    const objects = objectsOf(file);
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    // the namespace comes first, so that `kubectl apply -f dist/` creates it before its objects
    // (kubectl reads a directory's files in name order: this file before the runtime's)
    expect(names[0]).toBe('Namespace/stunner');
    expect(manifests(join(walk.dir, 'dist'))[0]).toBe('my-gitops.k8s.yaml');
    for (const expected of ['Deployment/udp-gateway', 'Service/udp-gateway', 'Deployment/stunner-auth'])
      expect(names).toContain(expected);
    const namespaces = new Set(objects.map((o) => o.metadata.namespace).filter(Boolean));
    expect([...namespaces].sort()).toEqual(['media', 'stunner']); // media: the media server's own
    expect(dataplaneClusters(file, 'udp-gateway')).toEqual([
      expect.objectContaining({
        name: 'stunner/media',
        endpoints: ['media-server.media.svc.cluster.local:<10000-20000>'],
      }),
    ]);
    const repoShas = runtimeShas(join(ROOT, 'dist'));
    expect(repoShas).toHaveLength(1);
    expect(runtimeShas(join(walk.dir, 'dist'))).toEqual(repoShas);
    expect(runtimeConfigMap(join(walk.dir, 'dist'))).toBe(runtimeConfigMap(join(ROOT, 'dist')));
  });

  it('names every image by digest, so that the consumer’s git names exactly what runs', () => {
    const objects = objectsOf(join(walk.dir, 'dist', 'my-gitops.k8s.yaml'));
    const images = containerImages(objects);
    expect(images.length).toBeGreaterThan(0);
    expect(imageFieldCount(objects), 'image fields outside containers').toBe(images.length);
    expect(images.filter((c) => !hasDigest(c.image)).map((c) => `${c.where}: ${c.image}`)).toEqual([]);
  });

  it('needs server-side apply, as the README says: the runtime ConfigMap exceeds client-side apply’s limit', () => {
    const runtime = objectsOf(join(walk.dir, 'dist', 'stunnerd-runtime-stunner.k8s.yaml')).find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'stunnerd-runtime',
    );
    expect(JSON.stringify(runtime).length).toBeGreaterThan(LAST_APPLIED_LIMIT);
    expect(runtime.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('ServerSideApply=true');
  });

  it('installs one copy of cdk8s and constructs: the consumer’s; and no devDependency of ours', () => {
    const ls = JSON.parse(run('npm', ['ls', 'cdk8s', 'constructs', '--all', '--json'], walk.dir)) as {
      dependencies: Record<string, unknown>;
    };
    expect(ls.dependencies['stunner-gitops']).toBeDefined();
    // Our own dependencies may nest (jest hoists yargs 17, we need 18); cdk8s and constructs never.
    const nested = join(walk.dir, 'node_modules', 'stunner-gitops', 'node_modules');
    const nestedNames = existsSync(nested) ? readdirSync(nested) : [];
    for (const peer of ['cdk8s', 'constructs']) expect(nestedNames, peer).not.toContain(peer);
    // No public type may need a devDependency of ours, and synth needs no bundler.
    const installed = readdirSync(join(walk.dir, 'node_modules'));
    for (const dev of ['kubernetes-models', 'cdk8s-plus-27', '@kubernetes-models', 'fflate', 'esbuild'])
      expect(installed, dev).not.toContain(dev);
  });

  it('loads every entry point through require()', () => {
    const out = run(
      process.execPath,
      [
        '-e',
        `const e = ['stunner-gitops', 'stunner-gitops/demos', 'stunner-gitops/gitops', 'stunner-gitops/config', 'stunner-gitops/ice-client'];
console.log(e.map((p) => Object.keys(require(p)).length > 0).join(' '));`,
      ],
      walk.dir,
    );
    expect(out).toBe('true true true true true\n');
  });

  it('installs the command-line tools, running the shipped runtime', () => {
    const bin = (name: string) => join(walk.dir, 'node_modules', '.bin', name);
    expect(run(bin('stunnerd'), ['--help'], walk.dir)).toMatch(/usage: stunnerd/);
    expect(run(bin('turncat'), ['--help'], walk.dir)).toMatch(/turncat/);
    // The operator tool reads this repository's committed dist/ and draws its routes.
    const graph = run(bin('stunnerctl'), ['graph', '-f', join(ROOT, 'dist')], walk.dir);
    expect(graph).toMatch(/^flowchart LR/);
    expect(graph).toContain('cluster eu-west');
  });

  // In order: each step starts from the project the one before left.
  describe('then docs/gitops.md, in the same project', () => {
    it('its CI check passes on the README’s commit (npm ci, synth, no change in dist/)', () => {
      const ci = codeBlocks(section(GITOPS_MD, '## 2. CI: synth, and fail when dist/ is dirty'));
      expect(ci.map((b) => b.lang)).toEqual(['sh']);
      runBlock(walk, ci[0]!, walk.dir);
    }, 600_000);

    it('its multi-cluster main.ts and main.test.ts build as the README builds', () => {
      const [main, test] = gitopsTs;
      expect(main!.code).toContain('layout.synth()');
      expect(test!.code).toContain("from './main'");
      writeFileSync(join(walk.dir, 'main.ts'), main!.code);
      writeFileSync(join(walk.dir, 'main.test.ts'), test!.code);
      const build = blocks.find((b) => b.lang === 'sh' && /^npm run build$/m.test(b.code));
      runBlock(walk, build!, walk.dir);
    }, 600_000);

    it('its multi-cluster main.ts renders one directory per cluster and the Argo CD objects', () => {
      expect(manifests(join(walk.dir, 'dist'))).toEqual([
        'argocd/argocd.k8s.yaml',
        'argocd/projects.k8s.yaml',
        'eu-west/media.k8s.yaml',
        'eu-west/stunnerd-runtime-stunner.k8s.yaml',
        'us-east/media.k8s.yaml',
        'us-east/stunnerd-runtime-stunner.k8s.yaml',
      ]);
      const euWest = objectsOf(join(walk.dir, 'dist', 'eu-west', 'media.k8s.yaml'));
      const service = euWest.find((o) => o.kind === 'Service' && o.metadata.name === 'udp-gateway');
      expect(service).toBeDefined();
      const config = euWest.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'udp-gateway-config');
      expect(JSON.parse(config.data['stunnerd.conf']).listeners[0].public_address).toBe('198.51.100.10');
      expect(runtimeShas(join(walk.dir, 'dist'))).toEqual(runtimeShas(join(ROOT, 'dist')));
    });

    it('compiles every other TypeScript block of the README and docs/gitops.md under the template’s tsconfig', () => {
      // The consumer chart and gitops.md's main.ts and main.test.ts were the project's own files,
      // compiled by `npm run build`; the rest compile beside them, one module each.
      const consumerChart = blocks.find((b) => b.lang === 'ts')!;
      const rest = [
        ...codeBlocks(README)
          .filter((b) => b.lang === 'ts' && b.line !== consumerChart.line)
          .map((b) => ({ name: `readme-${b.line}.ts`, code: b.code })),
        ...gitopsTs.slice(2).map((b) => ({ name: `gitops-${b.line}.ts`, code: b.code })),
      ];
      expect(rest.length).toBeGreaterThanOrEqual(4);
      const snippets = join(walk.dir, 'snippets');
      writeProject(snippets, {
        'tsconfig.json': JSON.stringify({
          extends: '../tsconfig.json',
          compilerOptions: { noEmit: true },
          include: ['*.ts'],
        }),
        ...Object.fromEntries(rest.map((s) => [s.name, s.code])),
      });
      run(join(walk.dir, 'node_modules', '.bin', 'tsc'), ['-p', snippets], walk.dir);
    }, 120_000);
  });
});

describe('consumer: an ES module project under tsx', () => {
  const dir = join(work, 'esm');

  beforeAll(() => {
    writeProject(dir, {
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
      'main.ts': chartSource(),
    });
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir);
  }, 300_000);

  it('installs one copy of cdk8s and constructs: the consumer’s', () => {
    const ls = JSON.parse(run('npm', ['ls', 'cdk8s', 'constructs', '--all', '--json'], dir)) as {
      dependencies: Record<string, unknown>;
    };
    expect(ls.dependencies['stunner-gitops']).toBeDefined();
    expect(readdirSync(join(dir, 'node_modules', 'stunner-gitops'))).not.toContain('node_modules');
  });

  it('synthesizes with `cdk8s synth`, rendering the runtime of this repository’s dist/', () => {
    run(process.execPath, [CDK8S, 'synth', '--no-check-upgrade'], dir, 240_000);
    const outdir = join(dir, 'dist');
    // the chart's file, and the runtime ConfigMap of its namespace in a file of its own
    expect(manifests(outdir)).toEqual(['media-esm.k8s.yaml', 'stunnerd-runtime-stunner.k8s.yaml']);
    const file = join(outdir, 'media-esm.k8s.yaml');
    const kinds = objectsOf(file).map((o) => `${o.kind}/${o.metadata.name}`);
    for (const expected of ['Deployment/udp-gateway', 'Service/udp-gateway', 'Deployment/stunner-auth'])
      expect(kinds).toContain(expected);
    expect(dataplaneClusters(file, 'udp-gateway')).toEqual([
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

  it('typechecks with strict tsc, against the package’s declarations only', () => {
    run(join(dir, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.'], dir);
    // No public type may need a devDependency of ours (tsx brings esbuild along for itself).
    const installed = readdirSync(join(dir, 'node_modules'));
    for (const dev of ['kubernetes-models', 'cdk8s-plus-27', '@kubernetes-models', 'fflate'])
      expect(installed, dev).not.toContain(dev);
  });
});

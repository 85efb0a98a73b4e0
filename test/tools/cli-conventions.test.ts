/**
 * What every CLI has (issue 27): per-command --help, --version with the package version and the
 * runtime's digest, bash and zsh completion, `-o yaml` without anchors, and the same clear
 * message for a missing kubeconfig from stunnerctl and turncat. In process: each tool's command
 * line as its main parses it (stunnerd's and `stunnerd auth`'s through their CLI declarations).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type CommandLine, parseCommandLine } from '../../runtime/args/cli.js';
import { RUNTIME_DIGEST_ENV, versionInfo, versionText } from '../../runtime/args/version.js';
import { CLI as AUTH_CLI } from '../../runtime/ice/cli.js';
import { CLI as STUNNERD_CLI } from '../../runtime/process/cli.js';
import { main as icetest } from '../../tools/icetest/icetest.js';
import { main as stunnerctl } from '../../tools/stunnerctl/stunnerctl.js';
import { main as turncat } from '../../tools/turncat/turncat.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

type Result = { code: number; out: string; err: string };

async function ctl(...argv: string[]): Promise<Result> {
  let out = '';
  let err = '';
  const code = await stunnerctl(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function streams() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const got = { out: '', err: '' };
  stdout.on('data', (d) => (got.out += d));
  stderr.on('data', (d) => (got.err += d));
  return { stdout, stderr, got };
}

async function cat(...argv: string[]): Promise<Result> {
  const s = streams();
  const code = await turncat(
    argv,
    { stdin: new PassThrough(), stdout: s.stdout, stderr: s.stderr },
    { signals: false },
  );
  return { code, ...s.got };
}

async function ice(...argv: string[]): Promise<Result> {
  const s = streams();
  const code = await icetest(argv, { stdout: s.stdout, stderr: s.stderr });
  return { code, ...s.got };
}

function parse(cli: CommandLine, ...argv: string[]): Result {
  let out = '';
  let err = '';
  const r = parseCommandLine(cli, argv, {
    stdout: { write: (s) => (out += s) },
    stderr: { write: (s) => (err += s) },
  });
  return { code: 'exit' in r ? r.exit : -1, out, err };
}

describe('--help', () => {
  it('stunnerctl: each command prints its own help, not the global one', async () => {
    const own: Record<string, [string, string]> = {
      config: ['--show-secrets', '--ice-transport-policy'],
      status: ['--url', '--show-secrets'],
      auth: ['--ice-transport-policy', '--show-secrets'],
      graph: ['--filename', '--show-secrets'],
      import: ['--chart-name', '--kubeconfig'],
      icetest: ['--max-loss', '--show-secrets'],
    };
    const global = await ctl('--help');
    expect(global.code).toBe(0);
    for (const [command, [has, hasNot]] of Object.entries(own)) {
      const r = await ctl(command, '--help');
      expect(r.code, command).toBe(0);
      expect(r.out, command).toMatch(new RegExp(`stunnerctl ${command}`));
      expect(r.out, command).toContain(has);
      expect(r.out, command).not.toContain(hasNot);
      expect(r.out, command).not.toBe(global.out);
    }
    expect((await ctl('import', '--help')).out).toContain('new ImportedChart(app');
  });

  it('stunnerd lists its commands; stunnerd auth heads its own options', () => {
    const d = parse(STUNNERD_CLI, '--help');
    expect(d.code).toBe(0);
    for (const c of ['stunnerd auth', 'stunnerd icetest', 'stunnerd completion']) expect(d.out).toContain(c);
    expect(d.out).toContain('--route');
    const a = parse(AUTH_CLI, '--help');
    expect(a.out).toMatch(/^usage: stunnerd auth /);
    expect(a.out).toContain('--watch-services');
    expect(a.out).not.toContain('--route');
  });

  it('turncat and icetest', async () => {
    expect((await cat('--help')).out).toMatch(/^usage: turncat /);
    expect((await ice('--help')).out).toMatch(/^usage: stunnerd icetest /);
  });
});

describe('--version', () => {
  const saved = process.env[RUNTIME_DIGEST_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[RUNTIME_DIGEST_ENV];
    else process.env[RUNTIME_DIGEST_ENV] = saved;
  });

  it('every tool prints the package version and says which runtime goes with it', async () => {
    const lines = [
      (await ctl('--version')).out,
      (await cat('--version')).out,
      (await ice('--version')).out,
      parse(STUNNERD_CLI, '--version').out,
      parse(AUTH_CLI, '--version').out,
    ];
    const tools = ['stunnerctl', 'turncat', 'stunnerd icetest', 'stunnerd', 'stunnerd auth'];
    lines.forEach((l, i) => {
      expect(l).toMatch(
        new RegExp(`^${tools[i]} ${VERSION.replace(/\./g, '\\.')} \\(stunner-gitops\\), runtime`),
      );
    });
    // A checkout says so, rather than naming a bundle it does not run.
    expect(lines[0]).toContain('source checkout');
  });

  it('names the digest bin/stunnerd.mjs hands to the unpacked runtime', () => {
    const sha = 'a'.repeat(64);
    expect(versionInfo({ [RUNTIME_DIGEST_ENV]: sha }).runtimeSha256).toBe(sha);
    expect(versionText('stunnerd', { [RUNTIME_DIGEST_ENV]: sha })).toBe(
      `stunnerd ${VERSION} (stunner-gitops), runtime sha256 ${sha}`,
    );
  });
});

describe('completion', () => {
  it('bash and zsh scripts for stunnerctl, turncat and stunnerd', async () => {
    for (const shell of ['bash', 'zsh']) {
      const scripts = [
        ['stunnerctl', (await ctl('completion', shell)).out],
        ['turncat', (await cat('completion', shell)).out],
        ['stunnerd', parse(STUNNERD_CLI, 'completion', shell).out],
      ] as const;
      for (const [tool, script] of scripts) {
        expect(script, `${tool} ${shell}`).toContain(`${tool} --get-yargs-completions`);
        if (shell === 'bash') expect(script).toMatch(new RegExp(`complete .* ${tool}\\n`));
        else expect(script).toMatch(new RegExp(`^#compdef ${tool}\\n`));
        expect(script).toContain(`${tool} completion ${shell} >>`);
      }
    }
    expect((await ctl('completion', 'fish')).code).toBe(2);
  });
});

describe('output and messages', () => {
  it('-o yaml has no anchors or aliases', async () => {
    const r = await ctl('config', '-f', 'dist', '-o', 'yaml');
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/(:|-) [&*][A-Za-z0-9]+\s*$/m);
  });

  it('turncat k8s:// without a kubeconfig says what stunnerctl says', async () => {
    const home = await mkdtemp(join(tmpdir(), 'no-kube-'));
    const saved = {
      HOME: process.env.HOME,
      KUBECONFIG: process.env.KUBECONFIG,
      K: process.env.KUBERNETES_SERVICE_HOST,
    };
    process.env.HOME = home;
    delete process.env.KUBECONFIG;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      const t = await cat('-', 'k8s://stunner/udp-gateway:udp-listener', 'udp://127.0.0.1:9');
      const c = await ctl('config', '--context', 'any');
      expect(t.code).toBe(1);
      expect(c.code).toBe(1);
      const why = (s: string) => s.replace(/^[^:]+:\s*/, '').trim();
      expect(why(t.err)).toMatch(/^no kubeconfig: give --kubeconfig/);
      expect(why(t.err)).toBe(why(c.err));
    } finally {
      for (const [k, v] of Object.entries({
        HOME: saved.HOME,
        KUBECONFIG: saved.KUBECONFIG,
        KUBERNETES_SERVICE_HOST: saved.K,
      }))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      await rm(home, { recursive: true, force: true });
    }
  });
});

/**
 * The pod bootstrap, run exactly as the synthesized pod runs it (command, args, volumes), with a
 * stand-in runtime that reports how it was started: the pod is materialized as synthesized, then
 * its runtime file is replaced by a bundle of the stand-in.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapSource, bundleRuntime } from '../../build/runtime-bundle.js';
import { GatewayRuntime, StunnerGateway, TurnAuth } from '../../constructs/index.js';
import { BOOTSTRAP_FILE, BUNDLE_FILE } from '../../contract/pod-layout.js';
import { newChart, synthWithRuntime } from '../constructs/helpers.js';
import { materializePod } from '../helpers/pod-sandbox.js';
import { until } from '../helpers/wait.js';

/** A stand-in runtime that reports how it was started. */
const FIXTURE_RUNTIME = 'test/runtime/fixtures/tiny-runtime.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

let fixture: ReturnType<typeof bundleRuntime> | undefined;
/** The stand-in runtime, bundled and gzipped as the real one ships. */
function tinyRuntime() {
  fixture ??= bundleRuntime(FIXTURE_RUNTIME);
  return fixture;
}

function podFor(props: ConstructorParameters<typeof StunnerGateway>[2]) {
  const chart = newChart('stunner');
  new StunnerGateway(chart, 'gw', { listeners: [{ name: 'udp' }], ...props });
  const dir = mkdtempSync(join(tmpdir(), 'stunner-pod-'));
  dirs.push(dir);
  const pod = materializePod(synthWithRuntime(chart), 'gw', {
    dir,
    podIP: '127.0.0.1',
    secrets: {
      'tls-cert': { 'tls.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n', 'tls.key': 'KEY' },
      creds: { username: 'u-from-secret', password: 'pw-from-secret-xyz' },
    },
  });
  // Bundle mode: the runtime ConfigMap's bundle, swapped for the stand-in's.
  if (pod.mounts['runtime'] !== undefined)
    writeFileSync(join(pod.mounts['runtime'], BUNDLE_FILE), tinyRuntime().gzip);
  return pod;
}

describe('pod bootstrap', () => {
  it('unpacks the runtime into run/ and injects inline credentials into the config it passes', () => {
    const pod = podFor({ auth: TurnAuth.inline('media-user', 'p$ss-with-$VAR-inside') });
    const r = spawnSync(pod.command, pod.args, {
      cwd: pod.cwd,
      env: { ...process.env, ...pod.env },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const started = JSON.parse(r.stdout.trim());
    expect(started.argv1).toBe(join(pod.cwd, 'run', 'stunnerd.mjs'));
    expect(started.args).toEqual(['-c', join(pod.cwd, 'run', 'stunnerd.conf')]);
    const config = JSON.parse(started.config);
    // `$` survives: credentials are injected verbatim, never env-substituted.
    expect(config.auth.credentials).toEqual({ username: 'media-user', password: 'p$ss-with-$VAR-inside' });
    expect(config.listeners[0].address).toBe('$STUNNER_ADDR');
    expect(statSync(join(pod.cwd, 'run', 'stunnerd.conf')).mode & 0o777).toBe(0o600);
    // The ConfigMap itself never held the password.
    expect(readFileSync(join(pod.mounts['config']!, 'stunnerd.conf'), 'utf8')).not.toContain('p$ss');
  });

  it('injects TLS material from the listener Secret as base64 PEM', () => {
    const pod = podFor({
      auth: TurnAuth.fromSecret('creds'),
      mixedProtocolLoadBalancer: true,
      listeners: [{ name: 'tls', protocol: 'TURN-TLS', port: 3479, tlsSecret: 'tls-cert' }],
    });
    const r = spawnSync(pod.command, pod.args, {
      cwd: pod.cwd,
      env: { ...process.env, ...pod.env },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const config = JSON.parse(JSON.parse(r.stdout.trim()).config);
    expect(Buffer.from(config.listeners[0].cert, 'base64').toString()).toBe(
      '-----BEGIN CERTIFICATE-----\nMIIB\n',
    );
    expect(Buffer.from(config.listeners[0].key, 'base64').toString()).toBe('KEY');
    expect(config.auth.credentials).toEqual({ username: 'u-from-secret', password: 'pw-from-secret-xyz' });
  });

  it('follows a Secret update while the runtime runs', async () => {
    const pod = podFor({ auth: TurnAuth.inline('media-user', 'first-password-123') });
    const child = spawn(pod.command, pod.args, {
      cwd: pod.cwd,
      env: { ...process.env, ...pod.env, TINY_RUNTIME_STAY_MS: '5000' },
      stdio: 'ignore',
    });
    try {
      const merged = join(pod.cwd, 'run', 'stunnerd.conf');
      await until('the first password in the assembled config', () =>
        readIf(merged).includes('first-password-123'),
      );
      writeFileSync(join(pod.mounts['secrets']!, 'auth', 'password'), 'second-password-456');
      await until('the new password in the assembled config', () =>
        readIf(merged).includes('second-password-456'),
      );
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses unknown options with a usage line', () => {
    const pod = podFor({ auth: TurnAuth.inline('media-user', 'first-password-123') });
    // node's own flags and the script, then bad bootstrap options
    const script = pod.args.findIndex((a) => a.endsWith('bootstrap.mjs'));
    const r = spawnSync(pod.command, [...pod.args.slice(0, script + 1), '--bogus', 'x', '--'], {
      cwd: pod.cwd,
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^bootstrap: bad option --bogus x; usage:/);
  });
});

function readIf(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe('pod bootstrap in image mode', () => {
  it('runs the uncompressed runtime the image carries next to the bootstrap', () => {
    const pod = podFor({
      auth: TurnAuth.inline('media-user', 'first-password-123'),
      runtime: GatewayRuntime.image('x/y:1'),
    });
    expect(pod.mounts['runtime']).toBeUndefined();
    // What `npm run image` puts into the image (build/image/config.ts): bootstrap + bundle.
    const runtimeDir = join(pod.cwd, 'runtime');
    mkdirSync(runtimeDir, { recursive: true });
    writeFileSync(join(runtimeDir, BOOTSTRAP_FILE), bootstrapSource());
    writeFileSync(join(runtimeDir, 'stunnerd.mjs'), tinyRuntime().js);
    const r = spawnSync(pod.command, pod.args, {
      cwd: pod.cwd,
      env: { ...process.env, ...pod.env },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const started = JSON.parse(r.stdout.trim());
    expect(started.argv1).toBe(join(runtimeDir, 'stunnerd.mjs'));
    expect(JSON.parse(started.config).auth.credentials.password).toBe('first-password-123');
  });
});

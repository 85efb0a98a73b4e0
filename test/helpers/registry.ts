/**
 * An image registry on loopback for tests (Debian's `docker-registry`, the CNCF distribution
 * registry, storing in a temporary directory), and `skopeo` to copy images to and from it. Both
 * are test peers (scripts/install-test-peers.sh): a missing one fails the test, with the fix.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './child.js';
import { freeTcpPort } from './net.js';
import { until } from './wait.js';

/** Throws, saying how to install it, unless `tool` runs. */
export function requireTool(tool: string, pkg = tool, versionArg = '--version'): void {
  const r = spawnSync(tool, [versionArg], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0)
    throw new Error(
      `${tool} is needed (Debian package ${pkg}) and does not run here (${r.error?.message ?? `exit ${r.status}`}): run \`bash scripts/install-test-peers.sh\``,
    );
}

export interface Registry {
  /** `127.0.0.1:<port>`, the registry part of an image reference. */
  readonly host: string;
  /** What it logged so far. */
  output(): string;
  /** Stops it and removes its storage. */
  stop(): Promise<void>;
}

/** Starts a registry on a free loopback port; resolves once GET /v2/ answers 200 (within timeoutMs). */
export async function startRegistry(timeoutMs = 15_000): Promise<Registry> {
  requireTool('docker-registry');
  const dir = mkdtempSync(join(tmpdir(), 'registry-'));
  const port = await freeTcpPort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const registry = startChild('docker-registry', ['serve', config]);
  const stop = async (): Promise<void> => {
    await registry.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      `the registry on 127.0.0.1:${port} to answer GET /v2/`,
      async () => {
        if (!registry.running())
          throw new Error(
            `docker-registry exited (${registry.proc.exitCode ?? registry.proc.signalCode}):\n${registry.output()}`,
          );
        return (await status(port, '/v2/')) === 200;
      },
      timeoutMs,
    );
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${registry.output()}`);
  }
  return { host: `127.0.0.1:${port}`, output: registry.output, stop };
}

/** The HTTP status of GET path, or 0 when nothing answers. */
function status(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** A manifest as the registry serves it: its bytes and the digest header. */
export function getManifest(
  host: string,
  repository: string,
  reference: string,
  accept: readonly string[],
): Promise<{ status: number; body: Buffer; digest: string | undefined; contentType: string | undefined }> {
  const [hostname, port] = host.split(':');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port: Number(port),
        path: `/v2/${repository}/manifests/${reference}`,
        headers: { Accept: accept.join(', ') },
        timeout: 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            digest: res.headers['docker-content-digest'] as string | undefined,
            contentType: res.headers['content-type'],
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${req.path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Runs skopeo with its arguments (bounded), without the machine's signature policy (policy.json may
 * be missing or differ; these are our own images); resolves with stdout as bytes, rejects with
 * stderr. Asynchronous, so that a registry child's output keeps flowing meanwhile.
 */
export async function skopeo(args: readonly string[], timeoutMs = 120_000): Promise<Buffer> {
  requireTool('skopeo');
  const proc = spawn('skopeo', ['--insecure-policy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  proc.stdout.on('data', (d: Buffer) => out.push(d));
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(timer));
  if (code !== 0)
    throw new Error(
      `skopeo ${args.join(' ')} failed (${signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` after ${timeoutMs} ms` : ''}` : `exit ${code}`}):\n${err}`,
    );
  return Buffer.concat(out);
}

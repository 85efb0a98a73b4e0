/**
 * Runs the demos' pods from the committed YAML on this machine, as test/e2e does for the gateway:
 * each pod's volumes are written below a temporary working directory (test/helpers/
 * pod-sandbox.ts), and its own command, args and env run there, `node` being the pods' Node.js
 * release. Each pod gets a loopback address of its own as its pod IP.
 *
 * Cluster DNS is the one thing a laptop lacks: a pod that resolves Service names (a gateway's
 * STRICT_DNS route, an app server's ICE auth URL) runs in a mount namespace of its own whose
 * /etc/hosts maps those names to the other pods' addresses (`unshare -m`, a bind mount; nothing
 * on the machine changes).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '../constructs/helpers.js';
import { materializeAuthPod } from '../runtime/ice/auth-pod.js';
import { loadChartFile } from './chart-file.js';
import { materializePod, type Sandbox } from './pod-sandbox.js';

export const DIST = join(import.meta.dirname, '..', '..', 'dist', 'eu-west');

/** The objects of a committed chart of cluster eu-west, with its namespace's runtime file. */
export function loadDist(file: string): Manifest[] {
  return loadChartFile(join(DIST, file));
}

/** A loopback address of our own, so that the committed ports cannot collide with anything else. */
export function loopback(): string {
  return `127.${randomInt(64, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;
}

/** Whether this machine lets a test give a process its own /etc/hosts. */
export function canMapHosts(): boolean {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind /dev/null /etc/hosts && true'], {
    timeout: 10_000,
  });
  return r.status === 0;
}

export interface RunningPod {
  readonly name: string;
  readonly ip: string;
  readonly child: ChildProcess;
  readonly sandbox?: Sandbox;
  output(): string;
  stop(): Promise<void>;
}

export interface PodOptions {
  /** Pod IP (Downward API). @default a fresh loopback address */
  readonly ip?: string;
  /** Secrets the manifests reference but do not hold (created out of band). */
  readonly secrets?: Record<string, Record<string, string>>;
  /** Cluster DNS for this pod: Service name -> address. */
  readonly hosts?: Record<string, string>;
  /** Appended to the container's args (e.g. a listen address the cluster gives by other means). */
  readonly extraArgs?: readonly string[];
  /** Replaces or adds container env values (e.g. a free port, when tests run side by side). */
  readonly env?: Record<string, string>;
  /** Output that says the pod is ready. */
  readonly ready: string | RegExp;
  readonly timeoutMs?: number;
}

const running = new Set<RunningPod>();
const dirs: string[] = [];

/** Stops every pod still running and removes their directories (call in afterAll). */
export async function cleanUpPods(): Promise<void> {
  for (const p of [...running]) await p.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Runs a Deployment's pod: the gateway's, a demo server's, or Janus's (Debian's `janus` here). */
export function startPod(objects: Manifest[], deployment: string, o: PodOptions): Promise<RunningPod> {
  const ip = o.ip ?? loopback();
  const dir = mkdtempSync(join(tmpdir(), `demo-${deployment}-`));
  dirs.push(dir);
  const sandbox = materializePod(objects, deployment, {
    dir,
    podIP: ip,
    ...(o.secrets ? { secrets: o.secrets } : {}),
  });
  return run(
    deployment,
    ip,
    sandbox.command,
    [...sandbox.args, ...(o.extraArgs ?? [])],
    dir,
    { ...sandbox.env, ...o.env },
    o,
    sandbox,
  );
}

/** Runs the ICE auth service's pod, listening on its own address. */
export async function startAuthPod(
  objects: Manifest[],
  deployment: string,
  o: PodOptions & { readonly secrets?: Record<string, Record<string, string>> },
): Promise<RunningPod> {
  const ip = o.ip ?? loopback();
  const dir = mkdtempSync(join(tmpdir(), `demo-${deployment}-`));
  dirs.push(dir);
  const pod = await materializeAuthPod(objects, deployment, dir, o.secrets ?? {});
  return run(
    deployment,
    ip,
    pod.command,
    [...pod.args, '--address', ip, ...(o.extraArgs ?? [])],
    dir,
    { ...o.env },
    o,
  );
}

async function run(
  name: string,
  ip: string,
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  o: PodOptions,
  sandbox?: Sandbox,
): Promise<RunningPod> {
  let argv = [command, ...args];
  if (o.hosts !== undefined) {
    const hosts = join(cwd, '..', `${name}-${ip}.hosts`);
    const lines = Object.entries(o.hosts).map(([host, addr]) => `${addr} ${host}`);
    writeFileSync(hosts, `127.0.0.1 localhost\n${lines.join('\n')}\n`);
    dirs.push(hosts);
    // exec all the way down: the pid we hold is the pod's process.
    argv = ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts, ...argv];
  }
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const pod: RunningPod = {
    name,
    ip,
    child,
    ...(sandbox ? { sandbox } : {}),
    output: () => out,
    stop: async () => {
      running.delete(pod);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
  running.add(pod);
  const matches = () => (typeof o.ready === 'string' ? out.includes(o.ready) : o.ready.test(out));
  const end = Date.now() + (o.timeoutMs ?? 20_000);
  while (!matches()) {
    if (child.exitCode !== null || Date.now() > end) {
      await pod.stop();
      throw new Error(
        `${name} not ready (${child.exitCode === null ? 'timeout' : `exit ${child.exitCode}`}):\n${out}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return pod;
}

/** `<name>.<namespace>.svc.cluster.local`. */
export function svc(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/** CloudRetro's coordinator pod with only its cloudretro-ice sidecar: that container is what runs here. */
export function cloudretroSidecarAsPod(objs: Manifest[]): Manifest[] {
  return objs.map((o) => {
    if (o.kind !== 'Deployment' || o.metadata.name !== 'coordinator-deployment') return o;
    const spec = o.spec.template.spec;
    const sidecar = spec.initContainers.find((c: { name: string }) => c.name === 'cloudretro-ice');
    return {
      ...o,
      spec: { ...o.spec, template: { ...o.spec.template, spec: { ...spec, containers: [sidecar] } } },
    };
  });
}

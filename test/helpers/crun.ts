/**
 * Runs an unpacked image as a container with Debian's `crun` (an OCI runtime, run as root here),
 * the way the gateway pod runs it: the image's user, working directory, entrypoint, command and
 * environment; a read-only root filesystem; the pod's volumes as bind and tmpfs mounts. Without a
 * network namespace, so that what it listens on is on this machine's loopback, where tests reach it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerConfig } from '../../build/image/oci.js';
import { startChild } from './child.js';
import { requireTool } from './registry.js';
import { until } from './wait.js';

export type Mount =
  | {
      readonly destination: string;
      readonly type: 'bind';
      readonly source: string;
      readonly readonly?: boolean;
    }
  | { readonly destination: string; readonly type: 'tmpfs' };

export interface ContainerOptions {
  /** The unpacked image. */
  readonly rootfs: string;
  /** The image config's `config`: user, working directory, entrypoint, command, environment. */
  readonly image: ContainerConfig;
  readonly mounts: readonly Mount[];
  /** Resolves the start once the output says so. */
  readonly ready: (output: string) => boolean;
  /** @default 20000 */
  readonly timeoutMs?: number;
}

export interface Container {
  readonly id: string;
  /** stdout and stderr so far. */
  output(): string;
  /** The container's first process, as this machine's pid. */
  pid(): number;
  /** Kills and deletes it (bounded). */
  stop(): Promise<void>;
}

/**
 * crun refuses to start anything on a hybrid cgroup hierarchy (v1 controllers, and a v2 one under
 * /sys/fs/cgroup/unified) whose v2 part has controllers, even with cgroups disabled, as on this
 * machine. Then crun runs in a mount namespace of its own where the v2 part is unmounted, so that
 * it sees a plain v1 hierarchy; the machine's mounts stay as they are.
 */
const HYBRID_WITH_V2_CONTROLLERS = (() => {
  try {
    return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== '';
  } catch {
    return false;
  }
})();
const HIDE_V2 = 'umount /sys/fs/cgroup/unified && exec crun "$@"';

/** The numeric `uid:gid` of an image config's User (what the pod's runAsUser matches). */
function user(u: string | undefined): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(u ?? '0');
  if (!m) throw new Error(`image User "${u}": only numeric uid[:gid] is handled here`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

/** Starts the container; resolves once `ready(output)`, rejects with the output if it exits first. */
export async function runContainer(o: ContainerOptions): Promise<Container> {
  requireTool('crun');
  if (process.getuid?.() !== 0)
    throw new Error('crun runs the container as root here (no user namespace): run as root');
  const dir = mkdtempSync(join(tmpdir(), 'crun-'));
  const state = join(dir, 'state'); // crun's own state, apart from the machine's /run/crun
  const bundle = join(dir, 'bundle');
  const id = `stunnerd-image-${randomBytes(4).toString('hex')}`;
  const crun = (...args: string[]): [string, string[]] => {
    const all = ['--root', state, '--cgroup-manager=disabled', ...args];
    return HYBRID_WITH_V2_CONTROLLERS
      ? ['unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', HIDE_V2, 'crun', ...all]]
      : ['crun', all];
  };

  mkdirSync(bundle);
  const made = spawnSync('crun', ['spec', '--bundle', bundle], { encoding: 'utf8', timeout: 10_000 });
  if (made.status !== 0) throw new Error(`crun spec failed: ${made.error?.message ?? made.stderr}`);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  const args = [...(o.image.Entrypoint ?? []), ...(o.image.Cmd ?? [])];
  if (args.length === 0) throw new Error('the image config has neither Entrypoint nor Cmd');
  spec.process = {
    ...spec.process,
    terminal: false,
    user: user(o.image.User),
    cwd: o.image.WorkingDir || '/',
    args,
    env: o.image.Env ?? [],
  };
  spec.root = { path: o.rootfs, readonly: true };
  spec.hostname = id;
  spec.mounts = [
    // no cgroup mount: cgroups are not managed here (--cgroup-manager=disabled)
    ...spec.mounts.filter((m: { destination: string }) => m.destination !== '/sys/fs/cgroup'),
    ...o.mounts.map((m) =>
      m.type === 'tmpfs'
        ? {
            destination: m.destination,
            type: 'tmpfs',
            source: 'tmpfs',
            options: ['nosuid', 'nodev', 'mode=1777'],
          }
        : {
            destination: m.destination,
            type: 'bind',
            source: m.source,
            options: ['rbind', m.readonly === false ? 'rw' : 'ro'],
          },
    ),
  ];
  // no resource limits: they need cgroups, which crun does not manage on this hybrid hierarchy
  delete spec.linux.resources;
  // the host's network: the relay's loopback listener is the test's loopback
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));

  const run = startChild(...crun('run', '--bundle', bundle, id));
  const stop = async (): Promise<void> => {
    await run.stop(() => spawnSync(...crun('kill', id, 'KILL'), { timeout: 10_000 }));
    spawnSync(...crun('delete', '--force', id), { timeout: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  const pid = (): number => {
    const r = spawnSync(...crun('state', id), { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`crun state ${id} failed: ${r.stderr}`);
    return JSON.parse(r.stdout).pid;
  };

  try {
    await until(
      `container ${id} to be ready`,
      () => {
        if (!run.running()) throw new Error(`crun run exited (${run.proc.exitCode ?? run.proc.signalCode})`);
        return o.ready(run.output());
      },
      o.timeoutMs ?? 20_000,
    );
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}; its output:\n${run.output()}`);
  }
  return { id, output: run.output, pid, stop };
}

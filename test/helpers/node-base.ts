/**
 * A stand-in for the pods' base image (NODE_IMAGE, docker.io/library/node:<version>-bookworm-slim),
 * which cannot be pulled here, that runs: one layer holding what the runtime uses of the stock
 * image, namely the pods' Node.js release (bench/pod-node.ts) at /usr/local/bin/node, the shared
 * libraries it loads (this machine's, at their paths, with the symlinks leading to them),
 * /etc/passwd and /etc/group with `node` as uid/gid 1000, /home/node and /tmp. Its config is the
 * stock image's as far as the runtime image inherits it: linux/amd64, PATH, no user (root), the
 * stock entrypoint and command (which the runtime image must replace). Like the stock image it is
 * an image index (here of one platform), which is what `skopeo copy --all` of it writes.
 *
 * Built once by writeStandInBase (./stand-in-base.ts) and cached under the repository's ignored tmp/.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePodNode, POD_NODE, POD_NODE_VERSION } from '../../bench/pod-node.js';
import { INDEX_FILE, readBaseLayout } from '../../build/image/layout.js';
import { NODE_IMAGE } from '../../contract/pod-layout.js';
import { type BaseEntry, writeStandInBase } from './stand-in-base.js';

/** Bump when the layout this file writes changes, so that a cached copy is rebuilt. */
const FORMAT = 3;
const CACHE = fileURLToPath(new URL('../../tmp/oci-base', import.meta.url));

export interface NodeBase {
  /** The OCI image layout directory. */
  readonly dir: string;
  /** Its one image's tag (the index's ref.name annotation), as NODE_IMAGE's. */
  readonly tag: string;
  /** The digest index.json names: an image index of one linux/amd64 image, as the stock image's. */
  readonly digest: string;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The Node.js stand-in base image, built on first use. */
export async function nodeBase(): Promise<NodeBase> {
  const tag = /:([^@]+)/.exec(NODE_IMAGE.slice(NODE_IMAGE.lastIndexOf('/')))?.[1];
  if (!tag) throw new Error(`no tag in ${NODE_IMAGE}`);
  const dir = join(CACHE, `node-${tag}-v${FORMAT}`);
  if (!existsSync(join(dir, INDEX_FILE))) await build(dir, tag);
  return { dir, tag, digest: readBaseLayout(dir).top.digest };
}

async function build(dir: string, tag: string): Promise<void> {
  const why = ensurePodNode();
  if (why) throw new Error(`the stand-in base image needs the pods' Node.js ${POD_NODE_VERSION}: ${why}`);
  const files: BaseEntry[] = [
    { type: 'file', path: 'usr/local/bin/node', bytes: readFileSync(POD_NODE), mode: 0o755 },
    ...sharedLibraries(POD_NODE).flatMap((lib) => hostFile(lib)),
    {
      type: 'file',
      path: 'etc/passwd',
      bytes: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n'),
    },
    { type: 'file', path: 'etc/group', bytes: Buffer.from('root:x:0:\nnode:x:1000:\n') },
    { type: 'directory', path: 'home/node', uid: 1000, gid: 1000 },
    { type: 'directory', path: 'root', mode: 0o700 },
    { type: 'directory', path: 'tmp', mode: 0o1777 },
  ];

  // written aside and renamed into place: a cached layout is always a complete one
  const part = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeStandInBase(part, {
    index: true,
    files,
    config: {
      Env: [`PATH=${PATH}`, `NODE_VERSION=${POD_NODE_VERSION}`],
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['node'],
    },
    created: '1970-01-01T00:00:00Z',
    createdBy: `test stand-in for ${NODE_IMAGE}`,
    ref: tag,
  });
  mkdirSync(dirname(dir), { recursive: true });
  try {
    renameSync(part, dir);
  } catch (e) {
    rmSync(part, { recursive: true, force: true });
    if (!existsSync(join(dir, INDEX_FILE))) throw e;
  }
}

/** A host file at its path, with every symlink on the way (merged /usr: /lib -> usr/lib). */
function hostFile(abs: string): BaseEntry[] {
  const parts = abs.split('/').filter(Boolean);
  let cur = '/';
  for (let i = 0; i < parts.length; i++) {
    const next = join(cur, parts[i]!);
    const st = lstatSync(next);
    if (st.isSymbolicLink()) {
      const target = readlinkSync(next);
      return [
        { type: 'symlink', path: next, target },
        ...hostFile(join(resolve(cur, target), ...parts.slice(i + 1))),
      ];
    }
    if (i === parts.length - 1 && st.isFile())
      return [{ type: 'file', path: next, bytes: readFileSync(next), mode: st.mode & 0o777 }];
    if (!st.isDirectory()) throw new Error(`${next}: neither a directory, a file nor a symlink`);
    cur = next;
  }
  throw new Error(`${abs}: not a file`);
}

/** The absolute paths of the shared libraries and the loader `bin` loads, from ldd. */
function sharedLibraries(bin: string): string[] {
  const r = spawnSync('ldd', [bin], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ldd ${bin} failed: ${r.error?.message ?? r.stderr}`);
  const libs = [...r.stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
  if (!libs.some((l) => /ld-linux/.test(l))) throw new Error(`ldd names no dynamic loader:\n${r.stdout}`);
  for (const l of libs) statSync(l);
  return [...new Set(libs)];
}

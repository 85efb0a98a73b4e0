/**
 * A stand-in for the pods' base image (NODE_IMAGE, docker.io/library/node:<version>-bookworm-slim),
 * which cannot be pulled here: an OCI image layout with one layer holding what the runtime uses of
 * the stock image, namely the pods' Node.js release (bench/pod-node.ts) at /usr/local/bin/node, the
 * shared libraries it loads (this machine's, at their paths, with the symlinks leading to them),
 * /etc/passwd and /etc/group with `node` as uid/gid 1000, /home/node and /tmp. Its config is the
 * stock image's as far as the runtime image inherits it: linux/amd64, PATH, no user (root), the
 * stock entrypoint and command (which the runtime image must replace). Like the stock image it is
 * an image index (here of one platform), which is what `skopeo copy --all` of it writes.
 *
 * Built once, deterministically (sorted entries, times 0, owners by number), and cached under the
 * repository's ignored tmp/.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ensurePodNode, POD_NODE, POD_NODE_VERSION } from '../../bench/pod-node.js';
import { NODE_IMAGE } from '../../contract/pod-layout.js';
import { type TarEntry, writeTar } from './tar.js';

/** Bump when the layout this file writes changes, so that a cached copy is rebuilt. */
const FORMAT = 2;
const CACHE = fileURLToPath(new URL('../../tmp/oci-base', import.meta.url));

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface OciBase {
  /** The OCI image layout directory. */
  readonly dir: string;
  /** Its one image's tag (the index's ref.name annotation), as NODE_IMAGE's. */
  readonly tag: string;
  /** The digest index.json names: an image index of one linux/amd64 image, as the stock image's. */
  readonly digest: string;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The stand-in base image, built on first use. */
export function standInBase(): OciBase {
  const tag = /:([^@]+)/.exec(NODE_IMAGE.slice(NODE_IMAGE.lastIndexOf('/')))?.[1];
  if (!tag) throw new Error(`no tag in ${NODE_IMAGE}`);
  const dir = join(CACHE, `node-${tag}-v${FORMAT}`);
  if (!existsSync(join(dir, 'index.json'))) build(dir, tag);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  return { dir, tag, digest: index.manifests[0].digest };
}

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function build(dir: string, tag: string): void {
  const why = ensurePodNode();
  if (why) throw new Error(`the stand-in base image needs the pods' Node.js ${POD_NODE_VERSION}: ${why}`);
  const entries = new Map<string, TarEntry>();
  const root = { mode: 0o755, uid: 0, gid: 0 };
  const dirs = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!entries.has(p)) entries.set(p, { type: 'dir', path: p, ...root });
    }
  };
  const file = (path: string, data: Buffer, mode = 0o644): void => {
    dirs(path);
    entries.set(path, { type: 'file', path, data, mode, uid: 0, gid: 0 });
  };
  /** A host file at its path, with every symlink on the way (merged /usr: /lib -> usr/lib). */
  const hostFile = (abs: string): void => {
    const parts = abs.split('/').filter(Boolean);
    let cur = '/';
    for (let i = 0; i < parts.length; i++) {
      const next = join(cur, parts[i]!);
      const st = lstatSync(next);
      const rel = next.slice(1);
      if (st.isSymbolicLink()) {
        const target = readlinkSync(next);
        dirs(rel);
        entries.set(rel, { type: 'symlink', path: rel, target, ...root, mode: 0o777 });
        hostFile(join(resolve(cur, target), ...parts.slice(i + 1)));
        return;
      }
      if (st.isDirectory()) {
        if (!entries.has(rel)) entries.set(rel, { type: 'dir', path: rel, ...root });
      } else if (i === parts.length - 1 && st.isFile()) {
        file(rel, readFileSync(next), st.mode & 0o777);
      } else {
        throw new Error(`${next}: neither a directory, a file nor a symlink`);
      }
      cur = next;
    }
  };

  file('usr/local/bin/node', readFileSync(POD_NODE), 0o755);
  for (const lib of sharedLibraries(POD_NODE)) hostFile(lib);
  file('etc/passwd', Buffer.from('root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n'));
  file('etc/group', Buffer.from('root:x:0:\nnode:x:1000:\n'));
  dirs('home/node/');
  entries.set('home/node', { type: 'dir', path: 'home/node', mode: 0o755, uid: 1000, gid: 1000 });
  entries.set('root', { type: 'dir', path: 'root', mode: 0o700, uid: 0, gid: 0 });
  entries.set('tmp', { type: 'dir', path: 'tmp', mode: 0o1777, uid: 0, gid: 0 });

  // sorted by path: a parent (a prefix) comes before its children
  const tar = writeTar(
    [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  );
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      created: '1970-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: [`PATH=${PATH}`, `NODE_VERSION=${POD_NODE_VERSION}`],
        Entrypoint: ['docker-entrypoint.sh'],
        Cmd: ['node'],
      },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: `test stand-in for ${NODE_IMAGE}` }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: { mediaType: MEDIA.config, digest: sha256(config), size: config.length },
      layers: [{ mediaType: MEDIA.layerGzip, digest: sha256(layer), size: layer.length }],
    }),
  );
  // an image index, as `skopeo copy --all` of the multi-platform stock image writes it
  const platforms = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: [
        {
          mediaType: MEDIA.manifest,
          digest: sha256(manifest),
          size: manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    }),
  );
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: MEDIA.index,
        digest: sha256(platforms),
        size: platforms.length,
        annotations: { [REF_NAME]: tag },
      },
    ],
  };

  // written aside and renamed into place: a cached layout is always a complete one
  const part = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  rmSync(part, { recursive: true, force: true });
  mkdirSync(join(part, 'blobs/sha256'), { recursive: true });
  for (const blob of [layer, config, manifest, platforms])
    writeFileSync(join(part, 'blobs/sha256', sha256(blob).slice(7)), blob);
  writeFileSync(join(part, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(part, 'index.json'), JSON.stringify(index));
  mkdirSync(dirname(dir), { recursive: true });
  try {
    renameSync(part, dir);
  } catch (e) {
    rmSync(part, { recursive: true, force: true });
    if (!existsSync(join(dir, 'index.json'))) throw e;
  }
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

/**
 * Stand-ins for the pinned Node.js base (the real one cannot be pulled here): an OCI image layout
 * written as `skopeo copy --all ... oci:<dir>:<tag>` writes the real base, with one layer per
 * platform holding the given entries and a config like the Node image's (Env, Entrypoint, Cmd,
 * history). Deterministic: entries sorted by path with their parent directories, one fixed mtime,
 * owners by number only.
 */
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { writeLayout } from '../../build/image/layout.js';
import {
  ANNOTATION,
  type ContainerConfig,
  type Descriptor,
  type Digest,
  describe,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  jsonBlob,
  MEDIA_TYPE,
  type Platform,
  sha256,
} from '../../build/image/oci.js';

interface Owned {
  /** A path in the image; a leading `/` is optional. */
  readonly path: string;
  /** @default 0o644 for a file, 0o755 for a directory */
  readonly mode?: number;
  /** @default 0 */
  readonly uid?: number;
  /** @default 0 */
  readonly gid?: number;
}

/** An entry of the stand-in base's layer; missing parent directories are added as root's, 0755. */
export type BaseEntry =
  | (Owned & { readonly type: 'file'; readonly bytes: Uint8Array })
  | (Owned & { readonly type: 'directory' })
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

export interface StandInBaseOptions {
  /** One manifest per platform; with several (or `index: true`), an image index. @default linux/amd64 */
  readonly platforms?: readonly Platform[];
  readonly index?: boolean;
  /** Adds an attestation manifest (platform unknown/unknown) to the index, as Docker Hub serves. */
  readonly attestation?: boolean;
  /** The layer's entries. @default a file /etc/stand-in-base naming the platform */
  readonly files?: readonly BaseEntry[];
  /** The config's `config`. @default the Node image's Env, Entrypoint and Cmd */
  readonly config?: ContainerConfig;
  /** The config's and its history's creation time, and every layer entry's mtime. */
  readonly created?: string;
  /** The history entry's `created_by`. @default 'stand-in base layer' */
  readonly createdBy?: string;
  /** index.json's ref name. @default 'base' */
  readonly ref?: string;
}

const NODE_CONFIG: ContainerConfig = {
  Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_VERSION=22.12.0'],
  Entrypoint: ['docker-entrypoint.sh'],
  Cmd: ['node'],
};

/** Writes the stand-in base layout to `dir`; returns the descriptor index.json names (without its ref). */
export async function writeStandInBase(dir: string, o: StandInBaseOptions = {}): Promise<Descriptor> {
  const platforms = o.platforms ?? [{ os: 'linux', architecture: 'amd64' }];
  const created = o.created ?? '2024-12-03T00:00:00Z';
  const blobs = new Map<Digest, { bytes: Uint8Array }>();
  const put = (mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}) => {
    const d = describe(mediaType, bytes, extra);
    blobs.set(d.digest, { bytes });
    return d;
  };
  const manifests: Descriptor[] = [];
  for (const p of platforms) {
    const files = o.files ?? [
      { type: 'file', path: '/etc/stand-in-base', bytes: Buffer.from(`${p.os}/${p.architecture}\n`) },
    ];
    const tar = await packLayer(files, new Date(created));
    const config: ImageConfig = {
      architecture: p.architecture,
      os: p.os,
      ...(p.variant !== undefined ? { variant: p.variant } : {}),
      created,
      config: o.config ?? NODE_CONFIG,
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created, created_by: o.createdBy ?? 'stand-in base layer' }],
    };
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.manifest,
      config: put(MEDIA_TYPE.config, jsonBlob(config)),
      layers: [put(MEDIA_TYPE.layerGzip, gzipSync(tar))],
    };
    manifests.push(put(MEDIA_TYPE.manifest, jsonBlob(manifest), { platform: p }));
  }
  if (o.attestation) {
    const attestation: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.manifest,
      config: put(MEDIA_TYPE.config, Buffer.from('{}')),
      layers: [put('application/vnd.in-toto+json', Buffer.from('{}'))],
    };
    manifests.push(
      put(MEDIA_TYPE.manifest, jsonBlob(attestation), {
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
      }),
    );
  }
  let top: Descriptor;
  if (platforms.length > 1 || o.index || o.attestation) {
    const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests };
    top = put(MEDIA_TYPE.index, jsonBlob(index));
  } else {
    const { platform: _p, ...single } = manifests[0] as Descriptor;
    top = single;
  }
  writeLayout(dir, blobs, { ...top, annotations: { [ANNOTATION.refName]: o.ref ?? 'base' } });
  return top;
}

/** The layer's tar: the entries and their parents, sorted by path, every mtime `mtime`. */
async function packLayer(entries: readonly BaseEntry[], mtime: Date): Promise<Buffer> {
  const byPath = new Map<string, BaseEntry>();
  for (const e of entries) {
    const path = e.path.replace(/^\/+|\/+$/g, '');
    if (path === '' || path.split('/').some((p) => p === '' || p === '.' || p === '..'))
      throw new Error(`stand-in base entry "${e.path}" is not a plain path`);
    byPath.set(path, { ...e, path });
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!byPath.has(parent)) byPath.set(parent, { type: 'directory', path: parent });
    }
  }
  // byte order of the paths: a parent (a prefix) comes before its children
  const sorted = [...byPath.values()].sort((a, b) =>
    Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)),
  );
  const tarball = pack();
  for (const e of sorted) {
    const owner = e.type === 'symlink' ? { uid: 0, gid: 0 } : { uid: e.uid ?? 0, gid: e.gid ?? 0 };
    const header = { name: e.path, ...owner, mtime };
    if (e.type === 'symlink') tarball.entry({ ...header, type: 'symlink', linkname: e.target, mode: 0o777 });
    else if (e.type === 'directory')
      tarball.entry({ ...header, name: `${e.path}/`, type: 'directory', mode: e.mode ?? 0o755 });
    else
      tarball.entry(
        { ...header, type: 'file', mode: e.mode ?? 0o644, size: e.bytes.byteLength },
        Buffer.from(e.bytes),
      );
  }
  tarball.finalize();
  return buffer(tarball);
}

/**
 * One filesystem layer, byte for byte the same wherever it is built: entries sorted by path, the
 * parent directories listed, fixed mtime, uid/gid 0 with no user or group names, files 0444 and
 * directories 0555 (read-only to everyone, as the pod mounts the runtime in bundle mode), and the
 * same pure-JS gzip as the runtime bundle (build/runtime-bundle.ts) with header mtime 0.
 */
import { gzipSync } from 'fflate';
import { pack } from 'tar-stream';
import { type Digest, sha256 } from './oci.js';

export const FILE_MODE = 0o444;
export const DIR_MODE = 0o555;

/** A regular file of the layer: `path` is absolute in the image (`/stunnerd/runtime/...`). */
export interface LayerFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

export interface Layer {
  /** The uncompressed tar. */
  readonly tar: Uint8Array;
  /** The blob: the gzipped tar. */
  readonly gzip: Uint8Array;
  /** sha256 of the tar: the config's rootfs.diff_ids entry. */
  readonly diffId: Digest;
  /** sha256 of the gzip: the manifest's layer descriptor. */
  readonly digest: Digest;
}

/** The tar entry names in order: every parent directory (`a/`), then the files, sorted by path. */
export function layerEntries(files: readonly LayerFile[]): { name: string; file?: LayerFile }[] {
  const entries = new Map<string, LayerFile | undefined>();
  for (const f of files) {
    const parts = f.path.split('/').filter((p) => p !== '');
    if (parts.length === 0 || parts.some((p) => p === '.' || p === '..'))
      throw new Error(`layer file path "${f.path}" is not a plain absolute path`);
    for (let i = 1; i < parts.length; i++) entries.set(`${parts.slice(0, i).join('/')}/`, undefined);
    const name = parts.join('/');
    if (entries.has(name)) throw new Error(`layer file "${f.path}" is listed twice`);
    entries.set(name, f);
  }
  // Byte order of the names; a directory's "a/" sorts before its "a/x" entries.
  return [...entries.keys()]
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((name) => ({ name, file: entries.get(name) }));
}

/** Builds the layer holding `files`, with every entry's mtime `mtime`. */
export async function buildLayer(files: readonly LayerFile[], mtime: Date): Promise<Layer> {
  const tarball = pack();
  const chunks: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    tarball.on('data', (c) => chunks.push(c as Uint8Array));
    tarball.on('end', () => resolve());
    tarball.on('error', reject);
  });
  const fixed = { uid: 0, gid: 0, uname: '', gname: '', mtime };
  for (const { name, file } of layerEntries(files)) {
    if (file === undefined) tarball.entry({ ...fixed, name, type: 'directory', mode: DIR_MODE });
    else
      tarball.entry(
        { ...fixed, name, type: 'file', mode: FILE_MODE, size: file.bytes.byteLength },
        file.bytes,
      );
  }
  tarball.finalize();
  await done;
  const tar = Buffer.concat(chunks);
  const gzip = gzipSync(tar, { level: 9, mem: 12, mtime: 0 });
  return { tar, gzip, diffId: sha256(tar), digest: sha256(gzip) };
}

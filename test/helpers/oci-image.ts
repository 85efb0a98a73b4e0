/**
 * Reads an image from an OCI image layout, checking every blob against its digest on the way, and
 * unpacks its layers in order into a root filesystem, as a container runtime would. Unpacking
 * handles what the runtime image's layers hold and fails on the rest (whiteouts, device nodes, a
 * path through a symlink), so an image these tests cannot faithfully unpack never passes.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { blobPath, INDEX_FILE, readBlob } from '../../build/image/layout.js';
import {
  ANNOTATION,
  type ContainerConfig,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isDigest,
  MEDIA_TYPE,
  sha256,
} from '../../build/image/oci.js';

export interface OciImage {
  readonly layout: string;
  /** The image manifest's digest. */
  readonly digest: Digest;
  /** The tag the layout's index gives it, if any. */
  readonly tag: string | undefined;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig & { readonly config: ContainerConfig };
}

/** A blob of the layout, checked against its digest (and size, given a descriptor). */
export function blob(layout: string, d: string | Descriptor): Buffer {
  if (typeof d !== 'string') return readBlob(layout, d, 'blob');
  if (!isDigest(d)) throw new Error(`not a sha256 digest: ${d}`);
  const data = readFileSync(blobPath(layout, d));
  if (sha256(data) !== d) throw new Error(`blob ${d} does not match its digest`);
  return data;
}

/** The layout's index.json. */
export const indexOf = (layout: string): ImageIndex =>
  JSON.parse(readFileSync(join(layout, INDEX_FILE), 'utf8'));

/**
 * The image of the layout with manifest digest `digest` (or its only image): found in the index,
 * or through a nested image index, for linux/amd64.
 */
export function readImage(layout: string, digest?: string): OciImage {
  const found: { d: Descriptor; tag: string | undefined }[] = [];
  const walk = (list: readonly Descriptor[], tag: string | undefined): void => {
    for (const d of list) {
      const t = d.annotations?.[ANNOTATION.refName] ?? tag;
      if (d.mediaType === MEDIA_TYPE.index) walk(JSON.parse(blob(layout, d).toString()).manifests, t);
      else if (d.mediaType === MEDIA_TYPE.manifest) {
        if (!d.platform || (d.platform.os === 'linux' && d.platform.architecture === 'amd64'))
          found.push({ d, tag: t });
      } else throw new Error(`index entry of media type ${d.mediaType} is not handled`);
    }
  };
  walk(indexOf(layout).manifests, undefined);
  const hits = digest ? found.filter((f) => f.d.digest === digest) : found;
  if (hits.length === 0 || (!digest && hits.length > 1))
    throw new Error(
      `${layout}: ${hits.length} images ${digest ? `with digest ${digest}` : ''} (index has ${found.map((f) => f.d.digest).join(', ')})`,
    );
  const { d, tag } = hits[0]!;
  const manifest = JSON.parse(blob(layout, d).toString()) as ImageManifest;
  const config = JSON.parse(blob(layout, manifest.config).toString()) as OciImage['config'];
  if (config.config === undefined) throw new Error(`${d.digest}: its config has no "config"`);
  if (config.rootfs.diff_ids.length !== manifest.layers.length)
    throw new Error(
      `${d.digest}: ${manifest.layers.length} layers, ${config.rootfs.diff_ids.length} diff_ids`,
    );
  return { layout, digest: d.digest, tag, manifest, config };
}

/** The uncompressed tar of layer i, checked against the config's diff_id. */
export function layerTar(img: OciImage, i: number): Buffer {
  const d = img.manifest.layers[i]!;
  const data = blob(img.layout, d);
  let tar: Buffer;
  if (d.mediaType === MEDIA_TYPE.layerGzip || d.mediaType.endsWith('.tar.gzip')) tar = gunzipSync(data);
  else if (/\.tar$/.test(d.mediaType)) tar = data;
  else throw new Error(`layer media type ${d.mediaType} is not handled`);
  if (sha256(tar) !== img.config.rootfs.diff_ids[i])
    throw new Error(`layer ${i} (${d.digest}) does not match its diff_id ${img.config.rootfs.diff_ids[i]}`);
  return tar;
}

export interface TarEntry {
  readonly header: Header;
  readonly body: Buffer;
}

/** The entries of a tar, in order, read with tar-stream (which resolves PAX and GNU long names). */
export async function untar(tar: Uint8Array): Promise<TarEntry[]> {
  const x = extract();
  const entries: TarEntry[] = [];
  const done = (async () => {
    for await (const e of x) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      entries.push({ header: e.header, body: Buffer.concat(chunks) });
    }
  })();
  x.end(tar);
  await done;
  return entries;
}

/** The tar entry types unpacked; anything else (devices, fifos) fails the unpack. */
const HANDLED = new Set<Header['type']>(['file', 'contiguous-file', 'directory', 'symlink', 'link']);

/** Unpacks the image's layers, in order, into `rootfs` (an empty or missing directory). */
export async function unpackImage(img: OciImage, rootfs: string): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error("unpacking an image keeps its files' owners (uid 1000 among them): this needs root");
  mkdirSync(rootfs, { recursive: true });
  chmodSync(rootfs, 0o755); // the container's /, which its non-root user must traverse
  for (const [i] of img.manifest.layers.entries()) {
    for (const { header: h, body } of await untar(layerTar(img, i))) {
      const path = h.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
      if (!HANDLED.has(h.type))
        throw new Error(`layer ${i}: ${path} is a tar entry of type ${h.type}, not handled by this unpacker`);
      const rel = posix.normalize(path);
      if (rel === '.' || rel === '') continue;
      if (rel.startsWith('../') || rel.startsWith('/'))
        throw new Error(`layer ${i}: ${path} leaves the root`);
      if (posix.basename(rel).startsWith('.wh.'))
        throw new Error(`layer ${i}: whiteout ${path} is not handled by this unpacker`);
      const abs = join(rootfs, rel);
      // parents: missing ones are created; one that is a symlink would redirect the write
      let p = rootfs;
      for (const part of rel.split('/').slice(0, -1)) {
        p = join(p, part);
        if (!existsSync(p) && !isLink(p)) mkdirSync(p, { mode: 0o755 });
        else if (isLink(p)) throw new Error(`layer ${i}: ${path} goes through the symlink ${part}`);
      }
      const { uid, gid, mode } = h;
      const here = lstatSafe(abs);
      if (h.type === 'directory') {
        if (here && !here.isDirectory()) rmSync(abs, { recursive: true, force: true });
        if (!here?.isDirectory()) mkdirSync(abs);
        chownSync(abs, uid, gid);
        chmodSync(abs, mode);
        continue;
      }
      if (here) rmSync(abs, { recursive: true, force: true });
      if (h.type === 'symlink') {
        symlinkSync(h.linkname, abs);
        lchownSync(abs, uid, gid);
      } else if (h.type === 'link') {
        const target = join(rootfs, posix.normalize(h.linkname.replace(/^(\.\/)+/, '')));
        if (!lstatSafe(target)?.isFile())
          throw new Error(`layer ${i}: hard link ${path} to a missing ${h.linkname}`);
        mkdirSync(dirname(abs), { recursive: true });
        linkSync(target, abs);
      } else {
        writeFileSync(abs, body);
        chownSync(abs, uid, gid);
        chmodSync(abs, mode);
      }
    }
  }
}

function lstatSafe(p: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

const isLink = (p: string): boolean => lstatSafe(p)?.isSymbolicLink() ?? false;

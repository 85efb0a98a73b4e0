/**
 * Reads an image from an OCI image layout, checking every blob against its digest on the way, and
 * unpacks its layers in order into a root filesystem, as a container runtime would. Unpacking
 * handles what the runtime image's layers hold and fails on the rest (whiteouts, device nodes, a
 * path through a symlink), so an image these tests cannot faithfully unpack never passes.
 */
import { createHash } from 'node:crypto';
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
import { MEDIA, REF_NAME } from './oci-base.js';
import { readTar } from './tar.js';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
  readonly platform?: { readonly architecture: string; readonly os: string };
}

export interface ImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly config: {
    readonly Env?: string[];
    readonly Entrypoint?: string[];
    readonly Cmd?: string[];
    readonly WorkingDir?: string;
    readonly User?: string;
  };
  readonly rootfs: { readonly type: string; readonly diff_ids: string[] };
}

export interface OciImage {
  readonly layout: string;
  /** The image manifest's digest. */
  readonly digest: string;
  /** The tag the layout's index gives it, if any. */
  readonly tag: string | undefined;
  readonly manifest: { readonly config: Descriptor; readonly layers: Descriptor[] };
  readonly config: ImageConfig;
}

export const sha256 = (b: Buffer | string): string =>
  `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A blob of the layout, checked against its digest (and size, given a descriptor). */
export function blob(layout: string, d: string | Descriptor): Buffer {
  const digest = typeof d === 'string' ? d : d.digest;
  if (!digest.startsWith('sha256:')) throw new Error(`not a sha256 digest: ${digest}`);
  const data = readFileSync(join(layout, 'blobs/sha256', digest.slice(7)));
  if (sha256(data) !== digest) throw new Error(`blob ${digest} does not match its digest`);
  if (typeof d !== 'string' && data.length !== d.size)
    throw new Error(`blob ${digest}: ${data.length} bytes, its descriptor says ${d.size}`);
  return data;
}

/** The layout's index.json. */
export const indexOf = (layout: string): { manifests: Descriptor[] } =>
  JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));

/**
 * The image of the layout with manifest digest `digest` (or its only image): found in the index,
 * or through a nested image index, for linux/amd64.
 */
export function readImage(layout: string, digest?: string): OciImage {
  const found: { d: Descriptor; tag: string | undefined }[] = [];
  const walk = (list: Descriptor[], tag: string | undefined): void => {
    for (const d of list) {
      const t = d.annotations?.[REF_NAME] ?? tag;
      if (d.mediaType === MEDIA.index) walk(JSON.parse(blob(layout, d).toString()).manifests, t);
      else if (d.mediaType === MEDIA.manifest) {
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
  const manifest = JSON.parse(blob(layout, d).toString());
  const config = JSON.parse(blob(layout, manifest.config).toString()) as ImageConfig;
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
  if (d.mediaType === MEDIA.layerGzip || d.mediaType.endsWith('.tar.gzip')) tar = gunzipSync(data);
  else if (/\.tar$/.test(d.mediaType)) tar = data;
  else throw new Error(`layer media type ${d.mediaType} is not handled`);
  if (sha256(tar) !== img.config.rootfs.diff_ids[i])
    throw new Error(`layer ${i} (${d.digest}) does not match its diff_id ${img.config.rootfs.diff_ids[i]}`);
  return tar;
}

/** Unpacks the image's layers, in order, into `rootfs` (an empty or missing directory). */
export function unpackImage(img: OciImage, rootfs: string): void {
  if (process.getuid?.() !== 0)
    throw new Error("unpacking an image keeps its files' owners (uid 1000 among them): this needs root");
  mkdirSync(rootfs, { recursive: true });
  chmodSync(rootfs, 0o755); // the container's /, which its non-root user must traverse
  img.manifest.layers.forEach((_, i) => {
    for (const e of readTar(layerTar(img, i))) {
      const rel = posix.normalize(e.path);
      if (rel === '.' || rel === '') continue;
      if (rel.startsWith('../') || rel.startsWith('/'))
        throw new Error(`layer ${i}: ${e.path} leaves the root`);
      if (posix.basename(rel).startsWith('.wh.'))
        throw new Error(`layer ${i}: whiteout ${e.path} is not handled by this unpacker`);
      const abs = join(rootfs, rel);
      // parents: missing ones are created; one that is a symlink would redirect the write
      let p = rootfs;
      for (const part of rel.split('/').slice(0, -1)) {
        p = join(p, part);
        if (!existsSync(p) && !isLink(p)) mkdirSync(p, { mode: 0o755 });
        else if (isLink(p)) throw new Error(`layer ${i}: ${e.path} goes through the symlink ${part}`);
      }
      const here = lstatSafe(abs);
      if (e.type === 'dir') {
        if (here && !here.isDirectory()) rmSync(abs, { recursive: true, force: true });
        if (!here?.isDirectory()) mkdirSync(abs);
        chownSync(abs, e.uid, e.gid);
        chmodSync(abs, e.mode);
        continue;
      }
      if (here) rmSync(abs, { recursive: true, force: true });
      if (e.type === 'file') {
        writeFileSync(abs, e.data);
        chownSync(abs, e.uid, e.gid);
        chmodSync(abs, e.mode);
      } else if (e.type === 'symlink') {
        symlinkSync(e.target, abs);
        lchownSync(abs, e.uid, e.gid);
      } else {
        const target = join(rootfs, posix.normalize(e.target));
        if (!lstatSafe(target)?.isFile())
          throw new Error(`layer ${i}: hard link ${e.path} to a missing ${e.target}`);
        mkdirSync(dirname(abs), { recursive: true });
        linkSync(target, abs);
      }
    }
  });
}

function lstatSafe(p: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

const isLink = (p: string): boolean => lstatSafe(p)?.isSymbolicLink() ?? false;

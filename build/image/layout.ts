/**
 * Reading the base image from an OCI image layout directory (what `skopeo copy ... oci:<dir>`
 * writes) and writing ours. Every blob read is checked against its descriptor's size and digest.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGES } from '../../contract/images.js';
import { ImageBuildError } from './errors.js';
import {
  ANNOTATION,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isDigest,
  MEDIA_TYPE,
  type Platform,
  sha256,
} from './oci.js';

export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const LAYOUT_VERSION = '1.0.0';

/** The command that puts the pinned base image into `dir`, for error messages and docs. */
export function fetchBaseCommand(dir: string): string {
  const node = IMAGES.node;
  // skopeo's docker transport refuses a reference with both a tag and a digest: the digest alone.
  return `skopeo copy --all --preserve-digests docker://${node.repository}@${node.digest} oci:${dir}:${node.tag}`;
}

/** One platform's image of the base: its manifest, config and layer descriptors. */
export interface BaseImage {
  /** The platform from the base's index, or from its config for a single-manifest base. */
  readonly platform: Platform;
  readonly manifestDigest: Digest;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
}

export interface BaseLayout {
  readonly dir: string;
  /** The descriptor index.json names: an image index or a single manifest. */
  readonly top: Descriptor;
  /** The linux images, in the base index's order (one for a single-manifest base). */
  readonly images: readonly BaseImage[];
  /** Whether the base is an image index (then so is ours). */
  readonly multiPlatform: boolean;
}

export interface ReadBaseOptions {
  /** The `org.opencontainers.image.ref.name` to use when index.json names several images. */
  readonly ref?: string;
  /** When set, the base's top descriptor must have this digest (IMAGES.node's, in `npm run image`). */
  readonly digest?: Digest;
}

const isIndexType = (t: string | undefined) => t === MEDIA_TYPE.index || t === MEDIA_TYPE.dockerManifestList;
const isManifestType = (t: string | undefined) =>
  t === MEDIA_TYPE.manifest || t === MEDIA_TYPE.dockerManifest;

/** The bytes of the blob `d` in layout `dir`, checked against the descriptor. */
export function readBlob(dir: string, d: Descriptor, what: string): Buffer {
  if (!isDigest(d.digest))
    throw new ImageBuildError(
      `${what} in ${dir} has digest "${d.digest}": only sha256:<64 hex> is supported`,
    );
  const path = blobPath(dir, d.digest);
  if (!existsSync(path))
    throw new ImageBuildError(
      `${what} ${d.digest} is missing from ${dir} (no blobs/sha256/${d.digest.slice(7)}): the layout is incomplete; copy the base again with all its platforms:\n  ${fetchBaseCommand(dir)}`,
    );
  const bytes = readFileSync(path);
  if (bytes.byteLength !== d.size || sha256(bytes) !== d.digest)
    throw new ImageBuildError(
      `${what} ${d.digest} in ${dir} does not match its descriptor (size ${bytes.byteLength}, expected ${d.size}; or another digest): the layout is corrupt; copy the base again:\n  ${fetchBaseCommand(dir)}`,
    );
  return bytes;
}

export function blobPath(dir: string, digest: Digest): string {
  return join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

function readJson<T>(bytes: Buffer, what: string, dir: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (e) {
    throw new ImageBuildError(`${what} in ${dir} is not JSON: ${(e as Error).message}`);
  }
}

/** Reads the base image's linux platforms from the OCI layout `dir`. Throws ImageBuildError. */
export function readBaseLayout(dir: string, o: ReadBaseOptions = {}): BaseLayout {
  const fetch = `\n  ${fetchBaseCommand(dir)}`;
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ImageBuildError(
      `the base image directory ${dir} does not exist; fetch the pinned base into it:${fetch}`,
    );
  if (!existsSync(join(dir, LAYOUT_FILE)) || !existsSync(join(dir, INDEX_FILE)))
    throw new ImageBuildError(
      `${dir} is not an OCI image layout (it needs ${LAYOUT_FILE} and ${INDEX_FILE}); fetch the pinned base into it:${fetch}`,
    );
  const layout = readJson<{ imageLayoutVersion?: unknown }>(
    readFileSync(join(dir, LAYOUT_FILE)),
    LAYOUT_FILE,
    dir,
  );
  if (typeof layout.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.'))
    throw new ImageBuildError(
      `${dir}/${LAYOUT_FILE} has imageLayoutVersion ${JSON.stringify(layout.imageLayoutVersion)}, not 1.x: not an OCI image layout this builder reads`,
    );
  const index = readJson<ImageIndex>(readFileSync(join(dir, INDEX_FILE)), INDEX_FILE, dir);
  const entries = Array.isArray(index.manifests) ? index.manifests : [];
  const named =
    o.ref === undefined ? entries : entries.filter((m) => m.annotations?.[ANNOTATION.refName] === o.ref);
  const names = entries.map((m) => m.annotations?.[ANNOTATION.refName] ?? '(no name)').join(', ');
  if (named.length !== 1)
    throw new ImageBuildError(
      o.ref !== undefined
        ? `${dir}/${INDEX_FILE} has ${named.length} images named "${o.ref}" (names: ${names || 'none'})`
        : `${dir}/${INDEX_FILE} names ${entries.length} images (${names || 'none'}); it must name exactly one, or choose one by its name (--base-ref)`,
    );
  const top = named[0] as Descriptor;
  if (o.digest !== undefined && top.digest !== o.digest)
    throw new ImageBuildError(
      `the base image in ${dir} is ${top.digest}, not the pinned ${o.digest} (contract/images.ts, IMAGES.node); fetch the pinned one:${fetch}`,
    );

  if (isIndexType(top.mediaType)) {
    const baseIndex = readJson<ImageIndex>(
      readBlob(dir, top, 'the base image index'),
      'the base image index',
      dir,
    );
    const images: BaseImage[] = [];
    for (const m of baseIndex.manifests ?? []) {
      // Attestations and other artifacts have no platform or os "unknown": not images to run.
      if (m.platform?.os !== 'linux' || !isManifestType(m.mediaType)) continue;
      images.push(readImage(dir, m, m.platform));
    }
    if (images.length === 0)
      throw new ImageBuildError(
        `the base image index ${top.digest} in ${dir} has no linux image (platforms: ${
          (baseIndex.manifests ?? []).map((m) => platformName(m.platform)).join(', ') || 'none'
        }); fetch the pinned base with all its platforms:${fetch}`,
      );
    return { dir, top, images, multiPlatform: true };
  }
  if (isManifestType(top.mediaType)) {
    const image = readImage(dir, top, undefined);
    if (image.platform.os !== 'linux')
      throw new ImageBuildError(
        `the base image ${top.digest} in ${dir} is for ${platformName(image.platform)}, not linux; fetch the pinned base:${fetch}`,
      );
    return { dir, top, images: [image], multiPlatform: false };
  }
  throw new ImageBuildError(
    `${dir}/${INDEX_FILE} names ${top.digest} of media type ${top.mediaType}: neither an image index nor an image manifest`,
  );
}

function readImage(dir: string, d: Descriptor, platform: Platform | undefined): BaseImage {
  const manifest = readJson<ImageManifest>(readBlob(dir, d, 'the base manifest'), 'the base manifest', dir);
  if (manifest.config === undefined || !Array.isArray(manifest.layers))
    throw new ImageBuildError(`the base manifest ${d.digest} in ${dir} has no config or layers`);
  const config = readJson<ImageConfig>(
    readBlob(dir, manifest.config, 'the base config'),
    'the base config',
    dir,
  );
  if (!Array.isArray(config.rootfs?.diff_ids) || config.rootfs.diff_ids.length !== manifest.layers.length)
    throw new ImageBuildError(
      `the base config ${manifest.config.digest} in ${dir} does not list one diff_id per layer of its manifest`,
    );
  for (const l of manifest.layers)
    if (!existsSync(blobPath(dir, l.digest))) readBlob(dir, l, 'the base layer');
  return {
    platform: platform ?? {
      os: config.os,
      architecture: config.architecture,
      ...(config.variant !== undefined ? { variant: config.variant } : {}),
    },
    manifestDigest: d.digest,
    manifest,
    config,
  };
}

export function platformName(p: Platform | undefined): string {
  if (p === undefined) return '(no platform)';
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined).join('/');
}

/** A blob of the output: its bytes, or a base layout's blob to copy (checked on the way). */
export type OutputBlob =
  | { readonly bytes: Uint8Array }
  | { readonly from: string; readonly descriptor: Descriptor };

/**
 * Writes an OCI image layout to `dir`: the blobs, `oci-layout`, `index.json` naming `top`, and
 * `extra` files (the build record). An existing `dir` is replaced only if it is empty or an OCI
 * layout, so that stale blobs never survive a build.
 */
export function writeLayout(
  dir: string,
  blobs: ReadonlyMap<Digest, OutputBlob>,
  top: Descriptor,
  extra: Readonly<Record<string, Uint8Array>> = {},
): void {
  if (existsSync(dir)) {
    const inside = readdirSync(dir);
    if (inside.length > 0 && !inside.includes(LAYOUT_FILE))
      throw new ImageBuildError(
        `the output directory ${dir} is neither empty nor an OCI layout: refusing to replace it`,
      );
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const digest of [...blobs.keys()].sort()) {
    const b = blobs.get(digest) as OutputBlob;
    const bytes = 'bytes' in b ? b.bytes : readBlob(b.from, b.descriptor, 'the base layer');
    writeFileSync(blobPath(dir, digest), bytes);
  }
  writeFileSync(join(dir, LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
  const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: [top] };
  writeFileSync(join(dir, INDEX_FILE), JSON.stringify(index));
  for (const [name, bytes] of Object.entries(extra)) writeFileSync(join(dir, name), bytes);
}

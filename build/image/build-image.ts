/**
 * `buildImage()`: the runtime image as an OCI image layout, reproducibly and without Docker. The
 * pinned base image (read from an OCI layout), plus one layer holding the runtime bundle and the
 * bootstrap at /stunnerd/runtime/, the config the gateway pod's command matches, one manifest per
 * linux platform of the base (under an image index when the base has one). The same inputs give
 * the same bytes, so the printed digest is what a registry serves after
 * `skopeo copy --all --preserve-digests`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGES } from '../../contract/images.js';
import { bootstrapSource, bundleRuntime, REPO_ROOT } from '../runtime-bundle.js';
import { type RuntimeFiles, rfc3339, runtimeImageConfig, runtimeLayerFiles } from './config.js';
import { ImageBuildError } from './errors.js';
import { buildLayer } from './layer.js';
import { type OutputBlob, platformName, readBaseLayout, writeLayout } from './layout.js';
import {
  ANNOTATION,
  type Descriptor,
  type Digest,
  describe,
  jsonBlob,
  MEDIA_TYPE,
  type Platform,
} from './oci.js';

/** Where the image is pushed unless `repository` says otherwise. */
export const DEFAULT_REPOSITORY = 'ghcr.io/stunner-gitops/stunnerd';
/** The build record written next to index.json: what to put into GatewayRuntime.image(). */
export const RECORD_FILE = 'stunnerd-image.json';

export interface BuildImageOptions {
  /** An OCI image layout holding the base image (IMAGES.node, fetched with skopeo). */
  readonly baseDir: string;
  /** Where the image's OCI layout is written; an existing layout there is replaced. */
  readonly outDir: string;
  /** @default DEFAULT_REPOSITORY */
  readonly repository?: string;
  /** @default the package version */
  readonly tag?: string;
  /** The images' `created` and the layer's mtimes, in seconds since the epoch. @default 0 */
  readonly createdEpoch?: number;
  /** Which image of the base layout's index.json, by its ref name, when it names several. */
  readonly baseRef?: string;
  /** When set, the base must be exactly this (an index or manifest digest). */
  readonly baseDigest?: Digest;
  /** The runtime to put in. @default the bundle and bootstrap bundle mode ships */
  readonly runtime?: RuntimeFiles;
}

export interface BuiltPlatform {
  readonly platform: Platform;
  /** The platform's manifest. */
  readonly digest: Digest;
}

export interface BuiltImage {
  /** The digest of what index.json names: the image index, or the manifest of a single-platform image. */
  readonly digest: Digest;
  /** `repository:tag@digest`: what GatewayRuntime.image() takes. */
  readonly reference: string;
  readonly repository: string;
  readonly tag: string;
  /** The media type of `digest`: an image index or an image manifest. */
  readonly mediaType: string;
  readonly platforms: readonly BuiltPlatform[];
  /** The runtime layer (the same on every platform). */
  readonly layer: { readonly digest: Digest; readonly diffId: Digest; readonly size: number };
  /** The base image's top digest. */
  readonly baseDigest: Digest;
  readonly outDir: string;
}

/** The JSON record `RECORD_FILE`: the built image, minus where it was written. */
export type BuiltImageRecord = Omit<BuiltImage, 'outDir'>;

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
// [registry[:port]/]path, lowercase path components (the distribution spec's name grammar).
const REPOSITORY_RE =
  /^([A-Za-z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Builds the runtime image into `outDir`. Throws ImageBuildError for a bad base or options. */
export async function buildImage(o: BuildImageOptions): Promise<BuiltImage> {
  const repository = o.repository ?? DEFAULT_REPOSITORY;
  const version = packageVersion();
  const tag = o.tag ?? version;
  if (!REPOSITORY_RE.test(repository))
    throw new ImageBuildError(
      `repository "${repository}" is not an image repository name (e.g. ${DEFAULT_REPOSITORY})`,
    );
  if (!TAG_RE.test(tag))
    throw new ImageBuildError(`tag "${tag}" is not an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]*)`);
  const epoch = o.createdEpoch ?? 0;
  if (!Number.isSafeInteger(epoch) || epoch < 0)
    throw new ImageBuildError(`createdEpoch ${epoch} is not a whole number of seconds since the epoch`);

  const base = readBaseLayout(o.baseDir, {
    ...(o.baseRef !== undefined ? { ref: o.baseRef } : {}),
    ...(o.baseDigest !== undefined ? { digest: o.baseDigest } : {}),
  });
  const runtime = o.runtime ?? { bundle: bundleRuntime().js, bootstrap: bootstrapSource() };
  const created = rfc3339(epoch);
  const layer = await buildLayer(runtimeLayerFiles(runtime), new Date(epoch * 1000));
  const layerDescriptor = describe(MEDIA_TYPE.layerGzip, layer.gzip);
  const createdBy = `npm run image (stunner-gitops ${version}): the runtime bundle and bootstrap in ${runtimeLayerFiles(runtime)[0]?.path.replace(/[^/]+$/, '')}`;

  const blobs = new Map<Digest, OutputBlob>([[layer.digest, { bytes: layer.gzip }]]);
  const platforms: BuiltPlatform[] = [];
  const manifests: Descriptor[] = [];
  for (const image of base.images) {
    for (const l of image.manifest.layers)
      if (!blobs.has(l.digest)) blobs.set(l.digest, { from: base.dir, descriptor: l });
    const config = jsonBlob(runtimeImageConfig(image.config, layer.diffId, created, createdBy));
    const configDescriptor = describe(MEDIA_TYPE.config, config);
    const manifest = jsonBlob({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.manifest,
      config: configDescriptor,
      layers: [...image.manifest.layers, layerDescriptor],
      annotations: {
        [ANNOTATION.baseName]: `${IMAGES.node.repository}:${IMAGES.node.tag}`,
        [ANNOTATION.baseDigest]: image.manifestDigest,
      },
    });
    const manifestDescriptor = describe(MEDIA_TYPE.manifest, manifest, { platform: image.platform });
    blobs.set(configDescriptor.digest, { bytes: config });
    blobs.set(manifestDescriptor.digest, { bytes: manifest });
    manifests.push(manifestDescriptor);
    platforms.push({ platform: image.platform, digest: manifestDescriptor.digest });
  }
  const seen = new Set<string>();
  for (const p of platforms) {
    const name = platformName(p.platform);
    if (seen.has(name))
      throw new ImageBuildError(`the base image in ${o.baseDir} lists platform ${name} twice`);
    seen.add(name);
  }

  let top: Descriptor;
  if (base.multiPlatform) {
    const index = jsonBlob({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.index,
      manifests,
      annotations: {
        [ANNOTATION.baseName]: `${IMAGES.node.repository}:${IMAGES.node.tag}`,
        [ANNOTATION.baseDigest]: base.top.digest,
      },
    });
    top = describe(MEDIA_TYPE.index, index);
    blobs.set(top.digest, { bytes: index });
  } else {
    const { platform: _platform, ...single } = manifests[0] as Descriptor;
    top = single;
  }
  const built: BuiltImage = {
    digest: top.digest,
    reference: `${repository}:${tag}@${top.digest}`,
    repository,
    tag,
    mediaType: top.mediaType,
    platforms,
    layer: { digest: layer.digest, diffId: layer.diffId, size: layer.gzip.byteLength },
    baseDigest: base.top.digest,
    outDir: o.outDir,
  };
  const { outDir: _outDir, ...record } = built;
  writeLayout(
    o.outDir,
    blobs,
    { ...top, annotations: { [ANNOTATION.refName]: tag } },
    {
      [RECORD_FILE]: Buffer.from(`${JSON.stringify(record, null, 2)}\n`),
    },
  );
  return built;
}

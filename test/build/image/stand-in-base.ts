/**
 * A tiny stand-in for the pinned Node.js base (the real one cannot be pulled here): an OCI image
 * layout with one small layer per platform, configs like the Node image's (Env, Entrypoint, Cmd,
 * history), written as `skopeo copy --all ... oci:<dir>:<tag>` writes the real base.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLayer, type LayerFile } from '../../../build/image/layer.js';
import {
  ANNOTATION,
  type Descriptor,
  describe,
  jsonBlob,
  MEDIA_TYPE,
  type Platform,
} from '../../../build/image/oci.js';

export interface StandInBaseOptions {
  /** One manifest per platform; with several (or `index: true`), an image index. @default linux/amd64 */
  readonly platforms?: readonly Platform[];
  readonly index?: boolean;
  /** Adds an attestation manifest (platform unknown/unknown) to the index, as Docker Hub serves. */
  readonly attestation?: boolean;
  /** The layer's files. @default /etc/stand-in-base */
  readonly files?: readonly LayerFile[];
  /** index.json's ref name. @default 'base' */
  readonly ref?: string;
}

/** Writes the stand-in base layout to `dir`; returns index.json's descriptor. */
export async function writeStandInBase(dir: string, o: StandInBaseOptions = {}): Promise<Descriptor> {
  const platforms = o.platforms ?? [{ os: 'linux', architecture: 'amd64' }];
  const blobs = new Map<string, Uint8Array>();
  const put = (mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}) => {
    const d = describe(mediaType, bytes, extra);
    blobs.set(d.digest, bytes);
    return d;
  };
  const manifests: Descriptor[] = [];
  for (const p of platforms) {
    const files = o.files ?? [
      { path: '/etc/stand-in-base', bytes: Buffer.from(`${p.os}/${p.architecture}\n`) },
    ];
    const layer = await buildLayer(files, new Date(1_700_000_000_000));
    const layerD = put(MEDIA_TYPE.layerGzip, layer.gzip);
    const config = put(
      MEDIA_TYPE.config,
      jsonBlob({
        architecture: p.architecture,
        os: p.os,
        ...(p.variant !== undefined ? { variant: p.variant } : {}),
        created: '2024-12-03T00:00:00Z',
        config: {
          Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_VERSION=22.12.0'],
          Entrypoint: ['docker-entrypoint.sh'],
          Cmd: ['node'],
        },
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created: '2024-12-03T00:00:00Z', created_by: 'stand-in base layer' }],
      }),
    );
    const manifest = jsonBlob({ schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config, layers: [layerD] });
    manifests.push(put(MEDIA_TYPE.manifest, manifest, { platform: p }));
  }
  if (o.attestation) {
    const empty = put('application/vnd.in-toto+json', Buffer.from('{}'));
    const config = put(MEDIA_TYPE.config, Buffer.from('{}'));
    manifests.push(
      put(
        MEDIA_TYPE.manifest,
        jsonBlob({ schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config, layers: [empty] }),
        {
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
        },
      ),
    );
  }
  let top: Descriptor;
  if (platforms.length > 1 || o.index || o.attestation) {
    top = put(MEDIA_TYPE.index, jsonBlob({ schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests }));
  } else {
    const { platform: _p, ...single } = manifests[0] as Descriptor;
    top = single;
  }
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const [digest, bytes] of blobs) writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const named = { ...top, annotations: { [ANNOTATION.refName]: o.ref ?? 'base' } };
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [named] }));
  return top;
}

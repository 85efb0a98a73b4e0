/**
 * The runtime image, built by buildImage() on the stand-in base (test/helpers/node-base.ts), copied
 * to a registry on loopback (Debian's docker-registry) and back with skopeo, keeps its digest: the
 * registry serves exactly the bytes `npm run image` printed the digest of, and the copy back is
 * the same layout, blob for blob. This is what lets the YAML name the image by that digest.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltImage, buildImage } from '../../../build/image/build-image.js';
import { ANNOTATION, type Descriptor, MEDIA_TYPE, sha256 } from '../../../build/image/oci.js';
import { nodeBase } from '../../helpers/node-base.js';
import { blob, indexOf, readImage } from '../../helpers/oci-image.js';
import { getManifest, type Registry, skopeo, startRegistry } from '../../helpers/registry.js';

const REPOSITORY = 'stunnerd';
const TAG = 'round-trip';

/** Every blob the layout's index reaches (indexes, manifests, configs, layers), by digest. */
function reachable(layout: string): Set<string> {
  const out = new Set<string>();
  const visit = (d: Descriptor): void => {
    out.add(d.digest);
    const doc = JSON.parse(blob(layout, d.digest).toString());
    if (d.mediaType === MEDIA_TYPE.index) for (const m of doc.manifests) visit(m);
    else if (d.mediaType === MEDIA_TYPE.manifest) {
      for (const b of [doc.config, ...doc.layers]) {
        blob(layout, b); // there, and matching its descriptor
        out.add(b.digest);
      }
    } else throw new Error(`unexpected media type ${d.mediaType}`);
  };
  for (const d of indexOf(layout).manifests) visit(d);
  return out;
}

const blobFiles = (layout: string): string[] =>
  readdirSync(join(layout, 'blobs/sha256'))
    .map((h) => `sha256:${h}`)
    .sort();

describe('the runtime image through a registry', () => {
  let work: string;
  let out: string;
  let built: BuiltImage;
  let registry: Registry;
  let remote: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'image-registry-'));
    out = join(work, 'image');
    built = await buildImage({ baseDir: (await nodeBase()).dir, outDir: out, tag: TAG });
    registry = await startRegistry();
    remote = `docker://${registry.host}/${REPOSITORY}:${TAG}`;
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is pushed with the digest the build printed', async () => {
    const names = indexOf(out).manifests.map((m) => m.annotations?.[ANNOTATION.refName]);
    expect(names, 'the layout names the image by its tag').toEqual([TAG]);
    await skopeo([
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${out}:${TAG}`,
      remote,
    ]);

    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', remote]);
    expect(sha256(raw)).toBe(built.digest);
    expect(raw.equals(blob(out, built.digest)), 'the registry serves the built bytes').toBe(true);

    // the registry's own word, without skopeo: the digest header, by tag and by digest
    const accept = [MEDIA_TYPE.index, MEDIA_TYPE.manifest];
    const byTag = await getManifest(registry.host, REPOSITORY, TAG, accept);
    expect(byTag.status).toBe(200);
    expect(byTag.digest).toBe(built.digest);
    expect(byTag.contentType).toBe(built.mediaType);
    const byDigest = await getManifest(registry.host, REPOSITORY, built.digest, accept);
    expect(byDigest.status).toBe(200);
    expect(sha256(byDigest.body)).toBe(built.digest);
    // and every platform's manifest under its own digest
    for (const p of built.platforms) {
      const m = await getManifest(registry.host, REPOSITORY, p.digest, accept);
      expect(m.status, `${p.platform.os}/${p.platform.architecture}`).toBe(200);
      expect(sha256(m.body)).toBe(p.digest);
    }
  }, 120_000);

  it('comes back as the same layout, blob for blob', async () => {
    const back = join(work, 'back');
    await skopeo([
      'copy',
      '--all',
      '--preserve-digests',
      '--src-tls-verify=false',
      remote,
      `oci:${back}:${TAG}`,
    ]);

    const index = indexOf(back);
    expect(index.manifests.map((m) => [m.digest, m.annotations?.[ANNOTATION.refName]])).toEqual([
      [built.digest, TAG],
    ]);
    const sent = reachable(out);
    expect(blobFiles(back), 'the copy holds exactly the image').toEqual([...sent].sort());
    for (const d of sent) {
      const h = d.slice(7);
      expect(
        readFileSync(join(back, 'blobs/sha256', h)).equals(readFileSync(join(out, 'blobs/sha256', h))),
        d,
      ).toBe(true);
    }
    // the image inside is the one built, runtime layer on top of the base's
    const img = readImage(back, built.platforms[0]!.digest);
    expect(img.manifest.layers.at(-1)!.digest).toBe(built.layer.digest);
    expect(img.config.rootfs.diff_ids.at(-1)).toBe(built.layer.diffId);
  }, 120_000);
});

/**
 * `npm run image`'s builder (build/image/) against a stand-in base layout: reproducible bytes, a
 * layer with fixed metadata, the pod's command in the config, one manifest per linux platform,
 * clear errors for a bad base, and a chart that names the built image by digest and passes the
 * manifest audit.
 */
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type App, Chart, Testing } from 'cdk8s';
import { gunzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BuiltImage,
  buildImage,
  packageVersion,
  RECORD_FILE,
} from '../../../build/image/build-image.js';
import { IMAGE_CMD, IMAGE_ENTRYPOINT, type RuntimeFiles } from '../../../build/image/config.js';
import { ImageBuildError } from '../../../build/image/errors.js';
import { blobPath, fetchBaseCommand } from '../../../build/image/layout.js';
import type { Digest, ImageConfig, ImageIndex, ImageManifest } from '../../../build/image/oci.js';
import { GatewayRuntime, IceAuthService, StunnerGateway, TurnAuth } from '../../../constructs/index.js';
import { packagedRuntime } from '../../../constructs/runtime-bundle/packaged-runtime.js';
import { IMAGES } from '../../../contract/images.js';
import { untar } from '../../helpers/oci-image.js';
import { writeStandInBase } from '../../helpers/stand-in-base.js';
import { auditManifests, RULES } from '../../security/manifest-audit.js';

const TMP = mkdtempSync(join(tmpdir(), 'stunnerd-image-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const RUNTIME: RuntimeFiles = { bundle: Buffer.from('console.log("relay");\n'), bootstrap: '// bootstrap\n' };
const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
];

/** Every file of a directory tree with its bytes, by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

const blob = (dir: string, digest: Digest) => readFileSync(blobPath(dir, digest));
const json = <T>(dir: string, digest: Digest) => JSON.parse(blob(dir, digest).toString('utf8')) as T;

describe('buildImage on a multi-platform base', () => {
  const base = join(TMP, 'base');
  let first: BuiltImage;

  beforeAll(async () => {
    await writeStandInBase(base, { platforms: PLATFORMS, attestation: true });
    first = await buildImage({ baseDir: base, outDir: join(TMP, 'a'), runtime: RUNTIME });
  });

  it('gives byte-identical layouts and the same digest on two builds', async () => {
    const second = await buildImage({ baseDir: base, outDir: join(TMP, 'b'), runtime: RUNTIME });
    expect(second.digest).toBe(first.digest);
    expect(second.reference).toBe(first.reference);
    expect(tree(join(TMP, 'b'))).toEqual(tree(join(TMP, 'a')));
    // a rebuild into the same directory replaces it, leaving no stale blob
    await buildImage({
      baseDir: base,
      outDir: join(TMP, 'b'),
      runtime: { ...RUNTIME, bundle: Buffer.from('x') },
    });
    const again = await buildImage({ baseDir: base, outDir: join(TMP, 'b'), runtime: RUNTIME });
    expect(again.digest).toBe(first.digest);
    expect(tree(join(TMP, 'b'))).toEqual(tree(join(TMP, 'a')));
  });

  it('changes the digest when the bundle, the bootstrap or the creation time changes', async () => {
    const bundle = await buildImage({
      baseDir: base,
      outDir: join(TMP, 'c'),
      runtime: { ...RUNTIME, bundle: Buffer.from('console.log("relay 2");\n') },
    });
    const bootstrap = await buildImage({
      baseDir: base,
      outDir: join(TMP, 'c'),
      runtime: { ...RUNTIME, bootstrap: '// bootstrap 2\n' },
    });
    const created = await buildImage({
      baseDir: base,
      outDir: join(TMP, 'c'),
      runtime: RUNTIME,
      createdEpoch: 1,
    });
    const digests = [first.digest, bundle.digest, bootstrap.digest, created.digest];
    expect(new Set(digests).size).toBe(4);
    expect(bundle.layer.digest).not.toBe(first.layer.digest);
  });

  it('names the image index by its tag, with the reference for the chart and the build record', () => {
    const out = join(TMP, 'a');
    expect(first.reference).toBe(`ghcr.io/stunner-gitops/stunnerd:${packageVersion()}@${first.digest}`);
    expect(first.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(JSON.parse(readFileSync(join(out, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as ImageIndex;
    expect(index.manifests).toEqual([
      {
        mediaType: 'application/vnd.oci.image.index.v1+json',
        digest: first.digest,
        size: blob(out, first.digest).byteLength,
        annotations: { 'org.opencontainers.image.ref.name': packageVersion() },
      },
    ]);
    const { outDir: _outDir, ...record } = first;
    expect(JSON.parse(readFileSync(join(out, RECORD_FILE), 'utf8'))).toEqual(record);
  });

  it('has one manifest per linux platform (the attestation dropped), each the base layers plus ours', () => {
    const out = join(TMP, 'a');
    const index = json<ImageIndex>(out, first.digest);
    expect(index.manifests.map((m) => m.platform)).toEqual(PLATFORMS);
    expect(first.platforms.map((p) => p.platform)).toEqual(PLATFORMS);
    for (const [i, m] of index.manifests.entries()) {
      expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(m.digest).toBe(first.platforms[i]?.digest);
      const manifest = json<ImageManifest>(out, m.digest);
      expect(manifest.layers).toHaveLength(2);
      expect(manifest.layers[1]).toEqual({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: first.layer.digest,
        size: first.layer.size,
      });
      // every blob a manifest names is in the layout, with that digest
      for (const d of [manifest.config, ...manifest.layers])
        expect(blob(out, d.digest).byteLength).toBe(d.size);
      expect(manifest.annotations?.['org.opencontainers.image.base.name']).toBe(
        `${IMAGES.node.repository}:${IMAGES.node.tag}`,
      );
    }
  });

  it("has the pod's command, working directory and user in the config, and the layer's diff_id", () => {
    const out = join(TMP, 'a');
    for (const p of first.platforms) {
      const manifest = json<ImageManifest>(out, p.digest);
      const config = json<ImageConfig>(out, manifest.config.digest);
      expect(config.architecture).toBe(p.platform.architecture);
      expect(config.created).toBe('1970-01-01T00:00:00Z');
      expect(config.config).toEqual({
        // the base's environment stays; its entrypoint and command give way to the runtime's
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_VERSION=22.12.0'],
        Entrypoint: ['node', '--min-semi-space-size=4', '--max-semi-space-size=4', 'runtime/bootstrap.mjs'],
        Cmd: ['--run', 'run', '--inject', 'config/stunnerd.conf=secrets', '--', '-c', 'config/stunnerd.conf'],
        User: '1000:1000',
        WorkingDir: '/stunnerd',
      });
      expect(config.config?.Entrypoint).toEqual(IMAGE_ENTRYPOINT);
      expect(config.config?.Cmd).toEqual(IMAGE_CMD);
      expect(config.rootfs.diff_ids).toHaveLength(2);
      expect(config.rootfs.diff_ids[1]).toBe(first.layer.diffId);
      expect(config.history).toHaveLength(2);
      expect(config.history?.[1]).toMatchObject({ created: '1970-01-01T00:00:00Z' });
    }
  });

  it('writes the layer with sorted entries, parent directories, and fixed metadata', async () => {
    const gzip = blob(join(TMP, 'a'), first.layer.digest);
    expect([...gzip.subarray(4, 8)]).toEqual([0, 0, 0, 0]); // gzip header mtime 0
    const tar = gunzipSync(gzip);
    const entries = await untar(tar);
    expect(entries.map((e) => e.header.name)).toEqual([
      'stunnerd/',
      'stunnerd/runtime/',
      'stunnerd/runtime/bootstrap.mjs',
      'stunnerd/runtime/stunnerd.mjs',
    ]);
    for (const { header } of entries) {
      expect(header).toMatchObject({ uid: 0, gid: 0, uname: '', gname: '' });
      expect(header.mtime.getTime()).toBe(0);
      expect(header.mode).toBe(header.type === 'directory' ? 0o555 : 0o444);
    }
    expect(entries.map((e) => e.header.type)).toEqual(['directory', 'directory', 'file', 'file']);
    expect(entries[2]?.body.toString()).toBe(RUNTIME.bootstrap);
    expect(entries[3]?.body).toEqual(Buffer.from(RUNTIME.bundle));
  });
});

describe('buildImage on a single-platform base', () => {
  it('builds a single manifest, and the default runtime is the bundle and bootstrap bundle mode ships', async () => {
    const base = join(TMP, 'base1');
    const top = await writeStandInBase(base);
    const out = join(TMP, 'single');
    const built = await buildImage({
      baseDir: base,
      outDir: out,
      repository: 'registry.example.org/media/stunnerd',
      tag: 'test',
      baseDigest: top.digest,
    });
    expect(built.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(built.reference).toBe(`registry.example.org/media/stunnerd:test@${built.digest}`);
    expect(built.platforms).toEqual([
      { platform: { os: 'linux', architecture: 'amd64' }, digest: built.digest },
    ]);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as ImageIndex;
    expect(index.manifests[0]).toMatchObject({
      digest: built.digest,
      annotations: { 'org.opencontainers.image.ref.name': 'test' },
    });
    const entries = await untar(gunzipSync(blob(out, built.layer.digest)));
    const shipped = packagedRuntime();
    expect(entries[2]?.body.toString()).toBe(shipped.bootstrap);
    expect(entries[3]?.body).toEqual(Buffer.from(gunzipSync(shipped.gzip)));
  }, 120_000);
});

describe('buildImage errors say what is wrong and what to run', () => {
  const out = join(TMP, 'err-out');
  const fails = async (baseDir: string, extra: object = {}) => {
    const e = await buildImage({ baseDir, outDir: out, runtime: RUNTIME, ...extra }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ImageBuildError);
    return (e as Error).message;
  };

  it('a missing base directory', async () => {
    const dir = join(TMP, 'nowhere');
    expect(await fails(dir)).toBe(
      `the base image directory ${dir} does not exist; fetch the pinned base into it:\n  ${fetchBaseCommand(dir)}`,
    );
    expect(fetchBaseCommand(dir)).toContain(`docker://docker.io/library/node@${IMAGES.node.digest}`);
  });

  it('a directory that is not an OCI layout', async () => {
    const dir = mkdtempSync(join(TMP, 'plain-'));
    writeFileSync(join(dir, 'README'), 'not an image');
    expect(await fails(dir)).toMatch(
      /is not an OCI image layout \(it needs oci-layout and index\.json\); fetch .*\n {2}skopeo copy --all/,
    );
  });

  it('a base with no linux platform', async () => {
    const dir = join(TMP, 'windows');
    await writeStandInBase(dir, { platforms: [{ os: 'windows', architecture: 'amd64' }], index: true });
    expect(await fails(dir)).toMatch(
      /has no linux image \(platforms: windows\/amd64\); fetch .*\n {2}skopeo copy --all/,
    );
  });

  it('a missing blob', async () => {
    const dir = join(TMP, 'missing-blob');
    await writeStandInBase(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).manifests[0];
    const layer = json<ImageManifest>(dir, manifest.digest).layers[0]!;
    unlinkSync(blobPath(dir, layer.digest));
    expect(await fails(dir)).toBe(
      `the base layer ${layer.digest} is missing from ${dir} (no blobs/sha256/${layer.digest.slice(7)}): the layout is incomplete; copy the base again with all its platforms:\n  ${fetchBaseCommand(dir)}`,
    );
  });

  it('a base other than the pinned one, when the pinned digest is asked for', async () => {
    const dir = join(TMP, 'other');
    const top = await writeStandInBase(dir);
    expect(await fails(dir, { baseDigest: IMAGES.node.digest })).toMatch(
      new RegExp(`the base image in .* is ${top.digest}, not the pinned ${IMAGES.node.digest}`),
    );
  });

  it('an output directory that is not an OCI layout is never replaced', async () => {
    const dir = join(TMP, 'base-for-out');
    await writeStandInBase(dir);
    const precious = mkdtempSync(join(TMP, 'precious-'));
    writeFileSync(join(precious, 'keep'), 'x');
    const e = await buildImage({ baseDir: dir, outDir: precious, runtime: RUNTIME }).catch((x: Error) => x);
    expect((e as Error).message).toMatch(/neither empty nor an OCI layout: refusing to replace it/);
    expect(existsSync(join(precious, 'keep'))).toBe(true);
  });
});

describe('a chart in image mode with the built reference', () => {
  it('renders the digest in every pod and passes the manifest audit', async () => {
    const base = join(TMP, 'chart-base');
    await writeStandInBase(base, { platforms: PLATFORMS });
    const built = await buildImage({ baseDir: base, outDir: join(TMP, 'chart-image'), runtime: RUNTIME });
    const record = JSON.parse(readFileSync(join(TMP, 'chart-image', RECORD_FILE), 'utf8'));

    const app: App = Testing.app();
    const chart = new Chart(app, 'image-mode', { namespace: 'stunner' });
    const runtime = GatewayRuntime.image(record);
    const gateway = new StunnerGateway(chart, 'udp-gateway', {
      createNamespace: true,
      runtime,
      auth: TurnAuth.ephemeral('stunner-auth-secret'),
      listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
    });
    new IceAuthService(chart, 'ice-auth', { gateways: [gateway] });
    const objects = chart.toJson();
    const images = objects.flatMap(
      (o: { spec?: { template?: { spec?: { containers?: { image: string }[] } } } }) =>
        (o.spec?.template?.spec?.containers ?? []).map((c) => c.image),
    );
    expect(images.length).toBe(2);
    for (const image of images) expect(image).toBe(built.reference);
    expect(built.reference).toMatch(/@sha256:[0-9a-f]{64}$/);
    const findings = auditManifests(
      objects.map((manifest: unknown) => ({ file: 'c/image-mode.k8s.yaml', cluster: 'c', manifest })),
    );
    for (const rule of RULES)
      expect(
        findings.filter((f) => f.rule === rule),
        rule,
      ).toEqual([]);
  });
});

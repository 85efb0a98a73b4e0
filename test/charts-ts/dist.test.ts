/**
 * The committed dist/ is what Argo CD applies: it must equal a fresh synth byte for byte, and
 * every object in it must pass offline schema validation and the Argo CD conventions. dist/ is
 * the multi-cluster layout: dist/<cluster>/<chart>.k8s.yaml, the runtime ConfigMap of each
 * namespace in dist/<cluster>/stunnerd-runtime-<namespace>.k8s.yaml, and dist/argocd/.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createLayout } from '../../charts-ts/app.js';
import { CLUSTER_SCOPED_KINDS } from '../../constructs/core/cluster-scoped.js';
import { RUNTIME_CONFIGMAP_NAME } from '../../constructs/runtime-bundle/runtime-config-map.js';
import { IMAGES, imageRef } from '../../contract/images.js';
import { isSecretCrd, validateSecretCrd } from '../constructs/core/secret-schemas.js';
import { type Manifest, validateManifest } from '../constructs/helpers.js';

const DIST = join(import.meta.dirname, '..', '..', 'dist');
const out = mkdtempSync(join(tmpdir(), 'cdk8s-synth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Every file under `dir`, recursively, relative with '/' separators, sorted. */
function allFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const rel = prefix ? `${prefix}/${e}` : e;
    if (statSync(join(dir, e)).isDirectory()) out.push(...allFiles(join(dir, e), rel));
    else out.push(rel);
  }
  return out;
}

function files(dir: string): string[] {
  return allFiles(dir).filter((f) => f.endsWith('.k8s.yaml'));
}

/** Which objects differ, so that a stale dist/ says what changed (often: the runtime bundle). */
function changedObjects(committed: Buffer, fresh: Buffer): string[] {
  const index = (b: Buffer) =>
    new Map(
      parseAllDocuments(b.toString('utf8')).map((d) => {
        const o = d.toJS();
        return [`${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`, JSON.stringify(o)];
      }),
    );
  const a = index(committed);
  const b = index(fresh);
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  const changed = keys.filter((k) => a.get(k) !== b.get(k));
  return changed.length > 0 ? changed : ['formatting only'];
}

function load(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(DIST, file), 'utf8')).map((d) => d.toJS());
}

/** A namespace's runtime chart file (stunnerd-runtime-<namespace>.k8s.yaml): its one ConfigMap. */
const RUNTIME_FILE = /(^|\/)stunnerd-runtime-[a-z0-9-]+\.k8s\.yaml$/;

/** The objects of the runtime files next to `file` of the namespaces its objects are in. */
function runtimesFor(file: string, objects: Manifest[]): Manifest[] {
  const dir = file.slice(0, file.lastIndexOf('/'));
  const namespaces = new Set(objects.map((o) => o.metadata.namespace).filter(Boolean));
  return [...namespaces].flatMap((ns) => {
    const runtime = `${dir}/stunnerd-runtime-${ns}.k8s.yaml`;
    return runtime !== file && existsSync(join(DIST, runtime)) ? load(runtime) : [];
  });
}

describe('dist/', () => {
  it('equals a fresh synth, byte for byte (run `npm run synth` and commit when this fails)', () => {
    createLayout({ outdir: out, onWarning: () => {} }).synth();
    // Every file, not only manifests: nothing in dist/ that a synth would not write.
    expect(allFiles(DIST)).toEqual(allFiles(out));
    const stale: string[] = [];
    for (const f of files(out)) {
      const fresh = readFileSync(join(out, f));
      const committed = readFileSync(join(DIST, f));
      if (!committed.equals(fresh)) stale.push(`dist/${f}: ${changedObjects(committed, fresh).join(', ')}`);
    }
    expect(stale, 'dist/ is stale: run `npm run synth` and commit dist/').toEqual([]);
  });

  it('holds one directory per cluster with one file per chart and one runtime file per namespace, and the Argo CD objects', () => {
    expect(allFiles(DIST)).toEqual([
      'argocd/argocd.k8s.yaml',
      'argocd/projects.k8s.yaml',
      'eu-west/cloudretro.k8s.yaml',
      'eu-west/direct-call.k8s.yaml',
      'eu-west/janus.k8s.yaml',
      'eu-west/media-gateway.k8s.yaml',
      'eu-west/mediasoup.k8s.yaml',
      'eu-west/simple-tunnel.k8s.yaml',
      'eu-west/stunnerd-runtime-cloudretro.k8s.yaml',
      'eu-west/stunnerd-runtime-direct-call.k8s.yaml',
      'eu-west/stunnerd-runtime-janus.k8s.yaml',
      'eu-west/stunnerd-runtime-mediasoup.k8s.yaml',
      'eu-west/stunnerd-runtime-simple-tunnel.k8s.yaml',
      'eu-west/stunnerd-runtime-stunner.k8s.yaml',
      'eu-west/stunnerd-runtime-turn-tls.k8s.yaml',
      'eu-west/turn-tls.k8s.yaml',
      'us-east/cloudretro.k8s.yaml',
      'us-east/media-gateway.k8s.yaml',
      'us-east/stunnerd-runtime-cloudretro.k8s.yaml',
      'us-east/stunnerd-runtime-stunner.k8s.yaml',
    ]);
  });

  it('synthesizes without warnings (no inline credentials under Argo CD), but for the known unpinned images', () => {
    // the catalogue's defaults without a published digest (contract/images.ts) warn, and only they
    const unpinned = Object.values(IMAGES)
      .filter((i) => i.digest === null)
      .map((i) => imageRef(i));
    const warnings = createLayout({ outdir: join(out, 'warnings') }).warnings;
    expect(
      warnings.filter((w) => !unpinned.some((ref) => w.includes(`image ${ref} is not pinned by digest`))),
    ).toEqual([]);
  });

  for (const f of files(DIST)) {
    it(`${f}: every object passes schema validation`, () => {
      const objects = load(f);
      // dist/argocd/ holds the root (Application, ApplicationSet) and, apart, the projects; a
      // runtime file the namespace's runtime ConfigMap alone
      if (RUNTIME_FILE.test(f))
        expect(objects.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual(['ConfigMap stunnerd-runtime']);
      else expect(objects.length).toBeGreaterThan(f.startsWith('argocd/') ? 1 : 5);
      for (const o of objects) {
        if (isSecretCrd(o)) validateSecretCrd(o);
        else validateManifest(o);
      }
    });

    it(`${f}: follows the Argo CD conventions`, () => {
      const objects = load(f);
      const names = new Set<string>();
      for (const o of objects) {
        const key = `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
        expect(names.has(key), `duplicate ${key}`).toBe(false);
        names.add(key);
        expect(o.metadata.name, key).toMatch(/^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/);
        if (CLUSTER_SCOPED_KINDS.has(o.kind)) expect(o.metadata.namespace, key).toBeUndefined();
        else expect(o.metadata.namespace, key).toMatch(/^[a-z0-9-]+$/);
        expect(o.metadata.generateName, key).toBeUndefined();
      }
      // Ordering that matters is explicit: the namespace first, and every ConfigMap and Secret a
      // Deployment mounts in an earlier wave (Argo CD already applies ServiceAccounts first), the
      // runtime ConfigMap of the namespace's runtime file too (Argo CD syncs the two files together).
      const mountable = [...objects, ...runtimesFor(f, objects)];
      const wave = (o: Manifest) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
      const ns = objects.filter((x) => x.kind === 'Namespace');
      for (const o of ns) expect(wave(o)).toBe(Math.min(...mountable.map(wave)));
      for (const d of objects.filter((x) => x.kind === 'Deployment')) {
        const pod = d.spec.template.spec;
        const used: [string, string][] = [];
        for (const v of pod.volumes ?? []) {
          if (v.configMap) used.push(['ConfigMap', v.configMap.name]);
          for (const src of v.projected?.sources ?? [])
            if (src.secret) used.push(['Secret', src.secret.name]);
        }
        for (const [kind, name] of used) {
          const dep = mountable.find(
            (x) =>
              x.kind === kind && x.metadata.name === name && x.metadata.namespace === d.metadata.namespace,
          );
          if (name === RUNTIME_CONFIGMAP_NAME)
            expect(
              dep,
              `${f}: the runtime file of namespace ${d.metadata.namespace} next to it`,
            ).toBeDefined();
          if (dep)
            expect(wave(dep), `${kind} ${name} before Deployment ${d.metadata.name}`).toBeLessThan(wave(d));
        }
      }
    });

    it(`${f}: keeps every ConfigMap well under the 1 MiB limit`, () => {
      for (const o of load(f).filter((x) => x.kind === 'ConfigMap')) {
        let bytes = 0;
        for (const v of Object.values<string>(o.data ?? {})) bytes += Buffer.byteLength(v);
        for (const v of Object.values<string>(o.binaryData ?? {}))
          bytes += Buffer.from(v, 'base64').byteLength;
        expect(bytes, o.metadata.name).toBeLessThan(0.9 * 1024 * 1024);
      }
    });
  }
});

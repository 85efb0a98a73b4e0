/**
 * Every image the constructs default to is pinned by tag and digest, from one catalogue
 * (contract/images.ts); an image given without a digest draws a synth warning.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { fetchBaseCommand } from '../../../build/image/layout.js';
import {
  CloudRetroDemo,
  DirectOne2OneCall,
  JanusDemo,
  MediasoupDemo,
  SimpleTunnel,
} from '../../../constructs/demos/index.js';
import { GatewaySmokeTest } from '../../../constructs/gitops/index.js';
import {
  GatewayRuntime,
  IceAuthService,
  MediaRoute,
  StunnerGateway,
  TurnAuth,
  Warnings,
} from '../../../constructs/index.js';
import { type CatalogImage, hasDigest, IMAGES, imageRef } from '../../../contract/images.js';
import { NODE_IMAGE } from '../../../contract/pod-layout.js';
import type { Manifest } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

/**
 * Catalogue entries that have no digest yet: no published record of their tag's digest could be
 * read where this was written (no registry access). Each is warned about at synth. Shrink this
 * list as digests are added; the test fails if an entry loses its digest or a new one lacks it.
 */
const KNOWN_UNPINNED = ['cloudretro', 'janus', 'mediasoup'];

/** Every container and init container image in the objects. */
function imagesOf(objects: Manifest[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const key of ['containers', 'initContainers', 'ephemeralContainers'])
        if (Array.isArray(o[key])) for (const c of o[key] as { image?: string }[]) out.push(String(c.image));
      Object.values(o).forEach(walk);
    }
  };
  walk(objects);
  return [...new Set(out)].sort();
}

function chart(namespace = 'stunner'): Chart {
  return new Chart(Testing.app(), 'c', { namespace });
}

function gateway(c: Chart, props: Partial<ConstructorParameters<typeof StunnerGateway>[2]> = {}) {
  return new StunnerGateway(c, 'gw', {
    name: 'udp-gateway',
    auth: TurnAuth.ephemeral('stunner-auth-secret'),
    listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
    ...props,
  });
}

/** Each construct that renders a pod, with every image prop left at its default. */
const DEFAULTS: Record<string, () => Chart> = {
  'StunnerGateway, IceAuthService, GatewaySmokeTest': () => {
    const c = chart();
    const gw = gateway(c);
    new MediaRoute(c, 'route', { parents: [gw], headless: true });
    new IceAuthService(c, 'auth', { gateways: [gw] });
    new GatewaySmokeTest(c, 'smoke', { gateway: gw });
    return c;
  },
  SimpleTunnel: () => {
    const c = chart('simple-tunnel');
    new SimpleTunnel(c, 'demo');
    return c;
  },
  DirectOne2OneCall: () => {
    const c = chart('direct-call');
    new DirectOne2OneCall(c, 'demo');
    return c;
  },
  JanusDemo: () => {
    const c = chart('janus');
    new JanusDemo(c, 'demo');
    return c;
  },
  MediasoupDemo: () => {
    const c = chart('mediasoup');
    new MediasoupDemo(c, 'demo', { host: 'mediasoup.example.com' });
    return c;
  },
  CloudRetroDemo: () => {
    const c = chart('cloudretro');
    new CloudRetroDemo(c, 'demo');
    return c;
  },
};

const unpinnedRefs = new Set(
  (Object.values(IMAGES) as CatalogImage[]).filter((i) => i.digest === null).map(imageRef),
);

const imageWarnings = (c: Chart) => Warnings.collect(c).filter((w) => w.includes('not pinned by digest'));

describe('the image catalogue', () => {
  it('pins every entry by tag and index digest, except the known gaps, each with its reason', () => {
    const entries = Object.entries(IMAGES) as [string, CatalogImage][];
    const unpinned = entries.filter(([, i]) => i.digest === null).map(([name]) => name);
    expect(unpinned.sort()).toEqual(KNOWN_UNPINNED);
    for (const [name, i] of entries) {
      expect(i.source, name).not.toBe('');
      if (i.digest === null) {
        expect(i.unpinned, name).toMatch(/\S/);
        expect(hasDigest(imageRef(i)), name).toBe(false);
      } else {
        expect(imageRef(i), name).toMatch(/^[a-z0-9.-]+(\/[a-z0-9._-]+)+:[\w.-]+@sha256:[0-9a-f]{64}$/);
        expect(i.unpinned, name).toBeUndefined();
        expect(i.tag, `${name}: a pinned entry names a release, not a moving tag`).not.toBe('latest');
      }
    }
  });

  it('the stock Node.js image carries its digest, and npm run image builds on the same one', () => {
    expect(NODE_IMAGE).toBe(
      'docker.io/library/node:22.12.0-bookworm-slim@sha256:a4b757cd491c7f0b57f57951f35f4e85b7e1ad54dbffca4cf9af0725e1650cd8',
    );
    expect(fetchBaseCommand('base')).toBe(
      'skopeo copy --all --preserve-digests docker://docker.io/library/node@sha256:a4b757cd491c7f0b57f57951f35f4e85b7e1ad54dbffca4cf9af0725e1650cd8 oci:base:22.12.0-bookworm-slim',
    );
  });

  it('hasDigest accepts only a full sha256 digest at the end', () => {
    expect(hasDigest(`r.example/a/b:1@${DIGEST}`)).toBe(true);
    expect(hasDigest(`r.example/a/b@${DIGEST}`)).toBe(true);
    expect(hasDigest('r.example/a/b:1')).toBe(false);
    expect(hasDigest('r.example/a/b:1@sha256:abc')).toBe(false);
    expect(hasDigest(`r.example/a/b:1@sha256:${'A'.repeat(64)}`)).toBe(false);
  });
});

describe('construct defaults', () => {
  for (const [name, build] of Object.entries(DEFAULTS)) {
    it(`${name}: every container image is pinned by digest (or is a known gap of the catalogue)`, () => {
      const images = imagesOf(Testing.synth(build()));
      expect(images.length).toBeGreaterThan(0);
      const bad = images.filter((i) => !hasDigest(i) && !unpinnedRefs.has(i));
      expect(bad).toEqual([]);
    });
  }

  it('the Node-based pods run exactly the catalogue Node.js image', () => {
    const c = DEFAULTS['StunnerGateway, IceAuthService, GatewaySmokeTest']!();
    expect(imagesOf(Testing.synth(c))).toEqual([imageRef(IMAGES.node)]);
    expect(imageWarnings(c)).toEqual([]);
  });

  it('no image reference is written outside the catalogue in contract/ and constructs/', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((e) => {
        const p = join(dir, e);
        return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
      });
    // registry/repository:tag, as in an `image:` field (a registry host has a dot)
    const ref = /\b[a-z0-9-]+(\.[a-z0-9-]+)+\/[a-z0-9._-]+(\/[a-z0-9._-]+)*:[\w][\w.-]*/g;
    const found: string[] = [];
    for (const f of [...files(join(ROOT, 'contract')), ...files(join(ROOT, 'constructs'))]) {
      if (f.endsWith(join('contract', 'images.ts'))) continue;
      for (const m of readFileSync(f, 'utf8').matchAll(ref)) {
        if (/^[a-z]+\.(example|svc|local)\b/.test(m[0]) || m[0].includes('.example.')) continue;
        found.push(`${f.slice(ROOT.length + 1)}: ${m[0]}`);
      }
    }
    expect(found).toEqual([]);
  });
});

describe('a user image without a digest is warned about at synth', () => {
  const mirror = 'mirror.example.org/node:22.12.0-bookworm-slim';

  it('the gateway runtime: a mirror by tag warns, the same mirror by digest does not', () => {
    const c = chart();
    gateway(c, { runtime: GatewayRuntime.bundle({ image: mirror }) });
    expect(imageWarnings(c)).toEqual([
      `[c/gw] image ${mirror} is not pinned by digest; give the runtime image (GatewayRuntime) as repository:tag@sha256:<digest> so that git names exactly what runs`,
    ]);
    const pinned = chart();
    gateway(pinned, { runtime: GatewayRuntime.bundle({ image: `${mirror}@${DIGEST}` }) });
    expect(imageWarnings(pinned)).toEqual([]);
    const built = chart();
    gateway(built, { runtime: GatewayRuntime.image('registry.example.com/stunnerd:1.0') });
    expect(imageWarnings(built)).toHaveLength(1);
  });

  it('a demo server image prop', () => {
    const c = chart('simple-tunnel');
    new SimpleTunnel(c, 'demo', { greeterImage: mirror });
    const w = imageWarnings(c);
    expect(w).toHaveLength(1);
    expect(w[0]).toContain(`image ${mirror} is not pinned by digest`);
    expect(w[0]).toContain("server's image prop");
    const pinned = chart('simple-tunnel');
    new SimpleTunnel(pinned, 'demo', { greeterImage: `${mirror}@${DIGEST}` });
    expect(imageWarnings(pinned)).toEqual([]);
  });

  it('a media server image: the unpinned defaults say so, a pinned image is quiet', () => {
    const janus = chart('janus');
    new JanusDemo(janus, 'demo');
    expect(imageWarnings(janus)).toEqual([
      `[c/demo] image ${imageRef(IMAGES.janus)} is not pinned by digest (the default: ${IMAGES.janus.unpinned}); give janusImage as repository:tag@sha256:<digest> so that git names exactly what runs`,
    ]);
    const pinned = chart('janus');
    new JanusDemo(pinned, 'demo', { janusImage: `registry.example.com/janus:1.2.4@${DIGEST}` });
    expect(imageWarnings(pinned)).toEqual([]);

    const ms = chart('mediasoup');
    new MediasoupDemo(ms, 'demo', { host: 'mediasoup.example.com', image: 'registry.example.com/ms:3' });
    expect(imageWarnings(ms)).toHaveLength(1);
  });

  it('CloudRetro: its image and its ICE step image', () => {
    const c = chart('cloudretro');
    new CloudRetroDemo(c, 'demo', { image: `registry.example.com/cr:1@${DIGEST}`, iceStepImage: mirror });
    const w = imageWarnings(c);
    expect(w).toHaveLength(1);
    expect(w[0]).toContain('give iceStepImage as');
  });
});

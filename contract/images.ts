/**
 * Every container image the constructs default to, in one place: repository, tag, and the
 * multi-arch index digest published for that tag, with where the digest was read. A reference
 * with a digest is `repository:tag@sha256:...`: the registry serves exactly that index, whatever
 * the tag points to later; the tag stays for people and tools.
 *
 * No registry is reachable where this file is maintained, so a digest is taken only from a
 * published record of that exact tag. Where none was found the entry says so (`digest: null`,
 * `unpinned`): the constructs then warn at synth, and the user pins the image through its prop.
 * Refresh a digest with `docker buildx imagetools inspect <repository>:<tag>` (the top "Digest").
 */

/** A container image reference: what a `image:` field holds. */
export type ImageRef = string;

export interface CatalogImage {
  /** Registry and repository, e.g. `docker.io/library/node`. */
  readonly repository: string;
  readonly tag: string;
  /** The image index (manifest list) digest of `tag`, or null when no trustworthy record was found. */
  readonly digest: `sha256:${string}` | null;
  /** Where the digest (or the tag) was published. */
  readonly source: string;
  /** Why the image has no digest (only when `digest` is null). */
  readonly unpinned?: string;
}

const DIGEST_RE = /@sha256:[0-9a-f]{64}$/;

/** Whether an image reference names its content by digest (`...@sha256:<64 hex>`). */
export function hasDigest(ref: ImageRef): boolean {
  return DIGEST_RE.test(ref);
}

/** `repository:tag@sha256:...`, or `repository:tag` when the entry has no digest. */
export function imageRef(image: CatalogImage): ImageRef {
  return `${image.repository}:${image.tag}${image.digest !== null ? `@${image.digest}` : ''}`;
}

/** The catalogue: every default image of the constructs. */
export const IMAGES = {
  /**
   * Stock Node.js that runs the runtime bundle and every demo server bundle: Debian slim (glibc),
   * Node >= 22.12 so that dgram honours reusePort with several relay threads; uid/gid 1000 (`node`).
   */
  node: {
    repository: 'docker.io/library/node',
    tag: '22.12.0-bookworm-slim',
    digest: 'sha256:a4b757cd491c7f0b57f57951f35f4e85b7e1ad54dbffca4cf9af0725e1650cd8',
    source:
      'github.com/sourcegraph/scip-typescript commit 0473c4a (2024-12-11): `docker buildx imagetools inspect node:22.12.0-slim` output, OCI image index (22.12.0-slim is the same tag entry as 22.12.0-bookworm-slim); github.com/mia-platform/crud-service commit 44edeca (2024-12-13), Dockerfile FROM node:22.12.0-bookworm-slim@sha256:a4b757cd...',
  },
  /** Janus 1.x with the EchoTest plugin and the HTTP transport, `janus` on its PATH. */
  janus: {
    repository: 'docker.io/l7mp/janus-gateway',
    tag: 'v1.2.4',
    digest: null,
    source:
      "STUNner's Janus tutorial (docs/examples/janus/janus-server.yaml, built from its DOCKERFILE-janus-gateway)",
    unpinned: 'no published digest of this tag was found; pin it with the prop janusImage',
  },
  /** The mediasoup demo server of STUNner's mediasoup tutorial. */
  mediasoup: {
    repository: 'docker.io/l7mp/mediasoup-demo-docker',
    tag: 'latest',
    digest: null,
    source:
      "STUNner's mediasoup tutorial (docs/examples/mediasoup/mediasoup-server.yaml), which names only :latest",
    unpinned: 'a moving tag, and no published digest was found; pin it with the prop image',
  },
  /** CloudRetro (coordinator and worker in one image), as STUNner's CloudRetro demo runs it. */
  cloudretro: {
    repository: 'docker.io/valniae/snekyrepo',
    tag: 'crdi',
    digest: null,
    source: "STUNner's CloudRetro tutorial (docs/examples/cloudretro/cloudretro-setup-*.yaml)",
    unpinned: 'no published digest of this tag was found; pin it with the prop image',
  },
} as const satisfies Record<string, CatalogImage>;

export type CatalogImageName = keyof typeof IMAGES;

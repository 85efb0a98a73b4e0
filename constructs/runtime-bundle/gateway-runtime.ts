/**
 * What runs in the gateway's pods (and the ICE auth service's): the runtime this package ships,
 * either in a ConfigMap run by a stock Node.js image, or in the runtime image `npm run image` builds
 * (build/image/). Both lay the runtime out at the same paths, so the pods differ only in their
 * image and volume.
 */
import { hasDigest } from '../../contract/images.js';
import { NODE_IMAGE } from '../../contract/pod-layout.js';

/**
 * The build record `npm run image` writes next to the image (`stunnerd-image.json`): only its
 * reference is read.
 */
export interface RuntimeImageRecord {
  /** `repository:tag@sha256:<digest>`. */
  readonly reference: string;
}

/** Options of `GatewayRuntime.bundle()`. */
export interface BundleRuntimeOptions {
  /**
   * The Node.js image that runs the bundle, e.g. a mirror of the pinned one. It must run as uid
   * 1000 and have the same Node.js release.
   * @default the stock image pinned by tag and digest, IMAGES.node (contract/images.ts)
   */
  readonly image?: string;
}

export class GatewayRuntime {
  /**
   * The prebuilt runtime bundle, gzipped in the namespace's runtime ConfigMap `stunnerd-runtime`,
   * run by a stock Node.js image: no image of your own, no registry. The pod template carries the
   * bundle's sha256, so a new runtime rolls the pods.
   */
  static bundle(options: BundleRuntimeOptions = {}): GatewayRuntime {
    return new GatewayRuntime('bundle', options.image ?? NODE_IMAGE);
  }

  /**
   * The runtime image `npm run image` builds (the same bundle and bootstrap, at the same paths),
   * from your registry: its reference as the build prints it, `repository:tag@sha256:<digest>`, or
   * the build record it writes. The digest makes the YAML name exactly the image that was built;
   * a reference without one still renders, with a synth warning (a mirror's tag, a local test),
   * and a malformed digest is a synth error.
   */
  static image(ref: string | RuntimeImageRecord): GatewayRuntime {
    return new GatewayRuntime('image', typeof ref === 'string' ? ref : ref.reference);
  }

  /** `bundle`: a runtime ConfigMap run by a Node.js image. `image`: a runtime image. */
  readonly kind: 'bundle' | 'image';
  /** The container image. */
  readonly image: string;

  private constructor(kind: 'bundle' | 'image', image: string) {
    this.kind = kind;
    this.image = image;
  }

  /** Whether two runtimes run the same image the same way. */
  sameAs(other: GatewayRuntime): boolean {
    return this.kind === other.kind && this.image === other.image;
  }

  toString(): string {
    return `${this.kind} ${this.image}`;
  }
}

/** What is wrong with a runtime's image reference, for the gateway's synth errors; undefined if nothing. */
export function runtimeImageProblem(runtime: GatewayRuntime): string | undefined {
  const image = runtime.image;
  if (image.trim() === '')
    return runtime.kind === 'image'
      ? 'the runtime has no image; GatewayRuntime.image() takes the reference `npm run image` prints'
      : 'the runtime has no image';
  const at = image.lastIndexOf('@');
  if (at >= 0 && !hasDigest(image))
    return `the runtime image "${image}" has a malformed digest "${image.slice(at + 1)}": a digest is sha256: and 64 lowercase hex digits, as \`npm run image\` prints it`;
  return undefined;
}

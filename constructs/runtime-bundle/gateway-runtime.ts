/**
 * What runs in the gateway's pods (and the ICE auth service's): the runtime this package ships,
 * either in a ConfigMap run by a stock Node.js image, or in an image built from runtime/Dockerfile.
 * Both lay the runtime out at the same paths, so the pods differ only in their image and volume.
 */
import { NODE_IMAGE } from '../../contract/pod-layout.js';

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

  /** A registry image built from runtime/Dockerfile (the same bundle and bootstrap, at the same paths). */
  static image(ref: string): GatewayRuntime {
    return new GatewayRuntime('image', ref);
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

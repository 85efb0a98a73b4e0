/**
 * How the runtime is laid out in the gateway pod. Every path is relative to the container's
 * working directory, so that a test can reproduce the pod on a workstation by materializing the
 * same volumes under a temporary directory and running the same command there.
 */

import { IMAGES, imageRef } from './images.js';

/** File names inside the runtime ConfigMap (and the image's runtime directory). */
export const BOOTSTRAP_FILE = 'bootstrap.mjs';
export const BUNDLE_FILE = 'stunnerd.mjs.gz';

/** The container's working directory; every volume is mounted below it. */
export const POD_WORKDIR = '/stunnerd';
/** Runtime ConfigMap (bundle mode) or the image's runtime directory (image mode). */
export const RUNTIME_DIR = 'runtime';
/** The dataplane config ConfigMap. */
export const CONFIG_DIR = 'config';
/** Secret material the bootstrap injects: `auth/{username,password,secret}`, `tls/<listener>/tls.*`. */
export const SECRETS_DIR = 'secrets';
/** Writable, memory-backed: the decompressed runtime and the assembled config. */
export const RUN_DIR = 'run';
/** Key of the dataplane config in its ConfigMap, as STUNner names it. */
export const CONFIG_KEY = 'stunnerd.conf';

/**
 * Stock Node.js image that runs the bundle, pinned by tag and digest (contract/images.ts): Debian
 * slim (glibc), Node >= 22.12 so that dgram honours reusePort when several relay threads are
 * configured. Runs as uid/gid 1000 (`node`).
 */
export const NODE_IMAGE = imageRef(IMAGES.node);
export const RUNTIME_UID = 1000;

/**
 * Node flags of the gateway process. The young generation is fixed at 4 MiB per semi-space: by
 * default V8 grows it (up to 16 MiB each) with the request rate, so the pod's memory would follow
 * its load history instead of its allocations. The benchmark runs the runtime with these flags and
 * measured no throughput cost (docs/benchmarks).
 */
export const RUNTIME_NODE_FLAGS: readonly string[] = ['--min-semi-space-size=4', '--max-semi-space-size=4'];

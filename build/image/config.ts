/**
 * What the runtime image adds to the base: its one layer's files and the container config that
 * starts the bootstrap as the gateway pod does, both derived from the pod layout
 * (contract/pod-layout.ts) so that the image and the rendered pods cannot drift apart.
 */
import {
  BOOTSTRAP_FILE,
  CONFIG_DIR,
  CONFIG_KEY,
  POD_WORKDIR,
  RUN_DIR,
  RUNTIME_DIR,
  RUNTIME_NODE_FLAGS,
  RUNTIME_UID,
  SECRETS_DIR,
} from '../../contract/pod-layout.js';
import type { LayerFile } from './layer.js';
import type { ContainerConfig, Digest, HistoryEntry, ImageConfig } from './oci.js';

/** The uncompressed bundle's file name in the image's runtime directory. */
export const IMAGE_BUNDLE_FILE = 'stunnerd.mjs';

/** The runtime's files, as bundle mode ships them (the bundle here uncompressed). */
export interface RuntimeFiles {
  /** The runtime bundle (build/runtime-bundle.ts, `bundleRuntime().js`). */
  readonly bundle: Uint8Array;
  /** runtime/bootstrap.mjs. */
  readonly bootstrap: Uint8Array | string;
}

/** The layer's files: `/stunnerd/runtime/{bootstrap.mjs,stunnerd.mjs}`. */
export function runtimeLayerFiles(r: RuntimeFiles): LayerFile[] {
  const dir = `${POD_WORKDIR}/${RUNTIME_DIR}`;
  const bootstrap = typeof r.bootstrap === 'string' ? Buffer.from(r.bootstrap, 'utf8') : r.bootstrap;
  return [
    { path: `${dir}/${BOOTSTRAP_FILE}`, bytes: bootstrap },
    { path: `${dir}/${IMAGE_BUNDLE_FILE}`, bytes: r.bundle },
  ];
}

/** The command of the gateway pod's container (relative to WorkingDir). */
export const IMAGE_ENTRYPOINT: readonly string[] = [
  'node',
  ...RUNTIME_NODE_FLAGS,
  `${RUNTIME_DIR}/${BOOTSTRAP_FILE}`,
];
/** The gateway pod's arguments: one config with its Secret material (constructs/runtime-bundle/runtime-pod.ts). */
export const IMAGE_CMD: readonly string[] = [
  '--run',
  RUN_DIR,
  '--inject',
  `${CONFIG_DIR}/${CONFIG_KEY}=${SECRETS_DIR}`,
  '--',
  '-c',
  `${CONFIG_DIR}/${CONFIG_KEY}`,
];
/** The Node image's `node` user, as the pod runs it (runAsUser/runAsGroup). */
export const IMAGE_USER = `${RUNTIME_UID}:${RUNTIME_UID}`;
export const IMAGE_WORKDIR = POD_WORKDIR;

/** RFC 3339 in UTC, as image configs write times. */
export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The base's config with the runtime's entrypoint, arguments, working directory and user, our
 * layer appended to rootfs.diff_ids and one history entry; `created` is fixed.
 */
export function runtimeImageConfig(
  base: ImageConfig,
  diffId: Digest,
  created: string,
  createdBy: string,
): ImageConfig {
  const container: ContainerConfig = {
    ...(base.config ?? {}),
    User: IMAGE_USER,
    Entrypoint: [...IMAGE_ENTRYPOINT],
    Cmd: [...IMAGE_CMD],
    WorkingDir: IMAGE_WORKDIR,
  };
  const history: HistoryEntry[] = [...(base.history ?? []), { created, created_by: createdBy }];
  return {
    ...base,
    created,
    config: container,
    rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, diffId] },
    history,
  };
}

/**
 * `npm run image`: builds the runtime image as an OCI image layout (build/image/README.md) and
 * prints its reference, `repository:tag@sha256:...`, the value for GatewayRuntime.image().
 *   npm run image -- [--base <dir>] [--out <dir>] [--repository <repo>] [--tag <tag>]
 *                    [--created <epoch seconds>] [--base-ref <name>] [--any-base]
 */
import { parseArgs } from 'node:util';
import { IMAGES } from '../../contract/images.js';
import { RuntimeBundleError } from '../runtime-bundle.js';
import { buildImage, DEFAULT_REPOSITORY, RECORD_FILE } from './build-image.js';
import { ImageBuildError } from './errors.js';
import { platformName } from './layout.js';
import type { Digest } from './oci.js';

export const DEFAULT_BASE_DIR = 'tmp/image-base';
export const DEFAULT_OUT_DIR = 'tmp/image';

const USAGE = `usage: npm run image -- [options]
  --base <dir>         OCI layout holding the pinned base image (default ${DEFAULT_BASE_DIR})
  --out <dir>          where the image's OCI layout is written (default ${DEFAULT_OUT_DIR})
  --repository <repo>  default ${DEFAULT_REPOSITORY}
  --tag <tag>          default the package version
  --created <seconds>  the images' creation time (default $SOURCE_DATE_EPOCH, else 0)
  --base-ref <name>    the base image's name in the layout's index.json, when it names several
  --any-base           accept a base other than the pinned ${IMAGES.node.repository}@${IMAGES.node.digest}`;

function main(): number {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse().values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const createdText = values.created ?? process.env.SOURCE_DATE_EPOCH ?? '0';
  if (!/^[0-9]+$/.test(createdText)) {
    console.error(
      `--created (or SOURCE_DATE_EPOCH) must be whole seconds since the epoch, not "${createdText}"`,
    );
    return 2;
  }
  const outDir = values.out ?? DEFAULT_OUT_DIR;
  buildImage({
    baseDir: values.base ?? DEFAULT_BASE_DIR,
    outDir,
    ...(values.repository !== undefined ? { repository: values.repository } : {}),
    ...(values.tag !== undefined ? { tag: values.tag } : {}),
    createdEpoch: Number(createdText),
    ...(values['base-ref'] !== undefined ? { baseRef: values['base-ref'] } : {}),
    ...(values['any-base'] ? {} : { baseDigest: IMAGES.node.digest as Digest }),
  }).then(
    (image) => {
      for (const p of image.platforms) console.error(`  ${platformName(p.platform)}  ${p.digest}`);
      console.error(`wrote ${outDir} (OCI layout, tag ${image.tag}) and ${outDir}/${RECORD_FILE}`);
      console.log(image.reference);
    },
    (e: unknown) => {
      console.error(e instanceof ImageBuildError || e instanceof RuntimeBundleError ? e.message : e);
      process.exitCode = 1;
    },
  );
  return 0;
}

function parse() {
  return parseArgs({
    options: {
      base: { type: 'string' },
      out: { type: 'string' },
      repository: { type: 'string' },
      tag: { type: 'string' },
      created: { type: 'string' },
      'base-ref': { type: 'string' },
      'any-base': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
}

process.exitCode = main();

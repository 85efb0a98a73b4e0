/**
 * The synth warning for a container image that is not pinned by digest: a tag alone lets the
 * registry (or whoever controls it) change what runs without a change in git.
 */
import type { IConstruct } from 'constructs';
import { type CatalogImage, hasDigest, IMAGES, imageRef } from '../../contract/images.js';
import { Warnings } from './warnings.js';

/** Records a warning on `scope` when `ref` has no `@sha256:` digest; `what` names the prop to set. */
export function warnUnpinnedImage(scope: IConstruct, what: string, ref: string): void {
  if (ref.trim() === '' || hasDigest(ref)) return; // an empty image is a validation error elsewhere
  const entry = (Object.values(IMAGES) as CatalogImage[]).find((i) => imageRef(i) === ref);
  const why = entry?.unpinned !== undefined ? ` (the default: ${entry.unpinned})` : '';
  Warnings.of(scope).add(
    `image ${ref} is not pinned by digest${why}; give ${what} as repository:tag@sha256:<digest> so that git names exactly what runs`,
  );
}

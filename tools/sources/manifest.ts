/**
 * Kubernetes objects as the YAML (or the API) gives them: multi-document YAML, Secret values, and
 * the Secret a gateway's ConfigMap names in its annotation.
 */

import { ANNOTATION_INJECTED } from '../../contract/labels.js';
import {
  injectedSecretName,
  isObject,
  ManifestError,
  type ManifestObject,
  readManifests,
  secretValues,
} from '../../contract/manifests.js';
import { SourceError } from './view.js';

// The reading itself is contract/manifests.ts's, which stunnerd's file:// shares.
export { isObject, secretValues };
export type Obj = ManifestObject;

export async function readDocs(file: string): Promise<Obj[]> {
  try {
    return await readManifests(file);
  } catch (e) {
    if (e instanceof ManifestError) throw new SourceError(e.message);
    throw e;
  }
}

/** Secret values by `namespace/name` and by `name` (for Secrets given without a namespace). */
export type SecretValues = Map<string, Record<string, string>>;

export async function readSecretFiles(files: readonly string[]): Promise<SecretValues> {
  const out: SecretValues = new Map();
  for (const f of files) {
    for (const o of await readDocs(f).catch((e: unknown) => {
      if (e instanceof SourceError) throw e;
      throw new SourceError(`--secret-file ${f}: ${(e as Error).message}`);
    })) {
      if (o.kind !== 'Secret' || !o.metadata?.name) continue;
      const values = secretValues(o);
      out.set(o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name, values);
    }
  }
  return out;
}

export function lookupSecret(
  values: SecretValues,
  namespace: string,
  name: string,
): Record<string, string> | undefined {
  return values.get(`${namespace}/${name}`) ?? values.get(name);
}

/** `auth.credentials from Secret <name>; ...` (constructs/gateway/dataplane-config.ts). */
export const injectedSecret = injectedSecretName;

/**
 * The kubernetes.io/tls Secret of each TLS listener, by short listener name, from the same
 * annotation (`cert/key of listener <listener> from Secret <name>, ...`).
 */
export function injectedTlsSecrets(o: Obj): Map<string, string> {
  const a = o.metadata?.annotations?.[ANNOTATION_INJECTED] ?? '';
  return new Map([...a.matchAll(/listener ([^\s;,]+) from Secret ([^\s;,]+)/g)].map((m) => [m[1]!, m[2]!]));
}

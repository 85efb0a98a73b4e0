/**
 * Kubernetes objects as the YAML (or the API) gives them: multi-document YAML, Secret values, and
 * the Secret a gateway's ConfigMap names in its annotation.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { ANNOTATION_INJECTED } from '../../contract/labels.js';
import { SourceError } from './view.js';

export type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [k: string]: unknown;
};

export async function readDocs(file: string): Promise<Obj[]> {
  const text = await readFile(file, 'utf8');
  const docs = parseAllDocuments(text);
  const out: Obj[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    if (d.errors.length > 0) {
      const e = d.errors[0]!;
      const pos = e.linePos?.[0];
      throw new SourceError(`${file}${pos ? `:${pos.line}` : ''}: ${e.message.split('\n')[0]}`);
    }
    const v = d.toJS() as unknown;
    if (isObject(v)) {
      if (v.kind === 'List' && Array.isArray(v.items)) out.push(...(v.items as Obj[]).filter(isObject));
      else out.push(v as Obj);
    }
  }
  return out;
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

export function secretValues(o: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  const data = isObject(o.data) ? o.data : {};
  for (const [k, v] of Object.entries(data))
    if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString();
  const sd = isObject(o.stringData) ? o.stringData : {};
  for (const [k, v] of Object.entries(sd)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** `auth.credentials from Secret <name>; ...` (constructs/gateway/dataplane-config.ts). */
export function injectedSecret(o: Obj): string | undefined {
  const a = o.metadata?.annotations?.[ANNOTATION_INJECTED];
  return a ? /auth\.credentials from Secret ([^\s;,]+)/.exec(a)?.[1] : undefined;
}

/**
 * The kubernetes.io/tls Secret of each TLS listener, by short listener name, from the same
 * annotation (`cert/key of listener <listener> from Secret <name>, ...`).
 */
export function injectedTlsSecrets(o: Obj): Map<string, string> {
  const a = o.metadata?.annotations?.[ANNOTATION_INJECTED] ?? '';
  return new Map([...a.matchAll(/listener ([^\s;,]+) from Secret ([^\s;,]+)/g)].map((m) => [m[1]!, m[2]!]));
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

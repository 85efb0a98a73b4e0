/**
 * A gateway's dataplane config as the synthesized YAML (dist/) carries it: multi-document
 * Kubernetes YAML, the gateway ConfigMap's `stunnerd.conf` key, the Secret its annotation names,
 * and Secret values. The pure part both sides read: `stunnerd -c file://<dist YAML>#<gateway>`
 * (runtime/) and the operator tools' gateway sources (tools/sources/). Files, no sockets.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import {
  ANNOTATION_INJECTED,
  LABEL_GATEWAY_NAME,
  LABEL_GATEWAY_NAMESPACE,
  LABEL_INSTANCE,
} from './labels.js';
import { CONFIG_KEY } from './pod-layout.js';

export type ManifestObject = {
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

/**
 * YAML that cannot be read as Kubernetes objects (the message names the file and line), or a
 * gateway name it does not hold (`naming`: the command line must name another).
 */
export class ManifestError extends Error {
  constructor(
    message: string,
    readonly naming = false,
  ) {
    super(message);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The objects of multi-document YAML (a `List` is its items). */
export function parseManifests(text: string, where: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) {
      const e = d.errors[0]!;
      const pos = e.linePos?.[0];
      throw new ManifestError(`${where}${pos ? `:${pos.line}` : ''}: ${e.message.split('\n')[0]}`);
    }
    let v: unknown;
    try {
      v = d.toJS();
    } catch (e) {
      throw new ManifestError(`${where}: ${(e as Error).message.split('\n')[0]}`);
    }
    if (isObject(v)) {
      if (v.kind === 'List' && Array.isArray(v.items))
        out.push(...(v.items as ManifestObject[]).filter(isObject));
      else out.push(v as ManifestObject);
    }
  }
  return out;
}

export async function readManifests(file: string): Promise<ManifestObject[]> {
  return parseManifests(await readFile(file, 'utf8'), file);
}

/** True when the text holds Kubernetes objects (synthesized dist/) rather than one dataplane config. */
export function isManifestText(text: string): boolean {
  return /^kind:\s/m.test(text) && /^apiVersion:\s/m.test(text);
}

/** The `stunnerd.conf` text of a gateway ConfigMap. */
export function dataplaneConfigText(o: ManifestObject): string | undefined {
  if (o.kind !== 'ConfigMap' || !isObject(o.data)) return undefined;
  const v = o.data[CONFIG_KEY];
  return typeof v === 'string' ? v : undefined;
}

/** A dataplane config given as is (no `kind`), as in a file of one config. */
export function isBareDataplaneConfig(o: ManifestObject): boolean {
  return (
    o.kind === undefined && typeof o.version === 'string' && (Array.isArray(o.listeners) || isObject(o.admin))
  );
}

/** The Secret a gateway ConfigMap's credentials come from: `auth.credentials from Secret <name>; ...`. */
export function injectedSecretName(o: ManifestObject): string | undefined {
  const a = o.metadata?.annotations?.[ANNOTATION_INJECTED];
  return a ? /auth\.credentials from Secret ([^\s;,]+)/.exec(a)?.[1] : undefined;
}

/** A Secret's values, `data` decoded and `stringData` over it. */
export function secretValues(o: ManifestObject): Record<string, string> {
  const out: Record<string, string> = {};
  const data = isObject(o.data) ? o.data : {};
  for (const [k, v] of Object.entries(data))
    if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString();
  const sd = isObject(o.stringData) ? o.stringData : {};
  for (const [k, v] of Object.entries(sd)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * Credential values from a secret file's objects: the Secret named `name` (else the first Secret),
 * or a flat map of strings (`username: ...`, `password: ...` or `secret: ...`).
 */
export function credentialValues(objects: readonly ManifestObject[], name?: string): Record<string, string> {
  const secrets = objects.filter((o) => o.kind === 'Secret');
  const secret = secrets.find((o) => o.metadata?.name === name) ?? secrets[0];
  if (secret !== undefined) return secretValues(secret);
  const out: Record<string, string> = {};
  for (const o of objects) for (const [k, v] of Object.entries(o)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** A gateway of synthesized YAML: its identity, dataplane config text and the Secret it names. */
export interface ManifestGateway {
  readonly namespace: string;
  readonly name: string;
  readonly configText: string;
  readonly secret?: string;
}

/** The gateways of a file's objects (their ConfigMaps), named as the gateway labels name them. */
export function manifestGateways(objects: readonly ManifestObject[]): ManifestGateway[] {
  const out: ManifestGateway[] = [];
  for (const o of objects) {
    const configText = dataplaneConfigText(o);
    if (configText === undefined) continue;
    const labels = o.metadata?.labels ?? {};
    const namespace = labels[LABEL_GATEWAY_NAMESPACE] ?? o.metadata?.namespace ?? 'default';
    const name =
      labels[LABEL_GATEWAY_NAME] ?? labels[LABEL_INSTANCE] ?? o.metadata?.name?.replace(/-config$/, '') ?? '';
    const secret = injectedSecretName(o);
    out.push({ namespace, name, configText, ...(secret !== undefined ? { secret } : {}) });
  }
  return out;
}

/** The gateway `name` or `namespace/name` of a file's objects (the only one when no name is given). */
export function findManifestGateway(
  objects: readonly ManifestObject[],
  name: string | undefined,
  where: string,
): ManifestGateway {
  const all = manifestGateways(objects);
  const known = all.map((g) => `${g.namespace}/${g.name}`).join(', ') || 'none';
  if (all.length === 0)
    throw new ManifestError(`${where} holds no gateway (no ConfigMap with ${CONFIG_KEY})`);
  if (name === undefined || name === '') {
    if (all.length === 1) return all[0]!;
    throw new ManifestError(`${where} holds ${all.length} gateways; name one after '#': ${known}`, true);
  }
  const hits = all.filter((g) => g.name === name || `${g.namespace}/${g.name}` === name);
  if (hits.length !== 1)
    throw new ManifestError(
      `${where}: ${hits.length === 0 ? `no gateway "${name}"` : `several gateways "${name}"; give namespace/name`} (gateways: ${known})`,
      true,
    );
  return hits[0]!;
}

/**
 * Gateways from files: a dist/ directory (walked recursively), manifest files, or dataplane config
 * files. Each gateway is the `stunnerd.conf` key of a ConfigMap (or a bare config); its Service
 * (same namespace, named like the gateway) gives ports and type, and its credentials come from an
 * inline Secret of the YAML, else `--secret-file`, else stay "from Secret <name>"
 * (ExternalSecret/SealedSecret-backed ones are named as such). A TLS listener's certificate and
 * key come from its kubernetes.io/tls Secret in `--secret-file` (or the YAML) when given; without
 * them the gateway reads all the same, as only a TLS server needs them. A directory's subdirectories are
 * clusters (`dist/eu-west/`).
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { dataplaneConfigText, isBareDataplaneConfig } from '../../contract/manifests.js';
import {
  fillCredentials,
  fillTls,
  hasCredentials,
  identity,
  listenerViews,
  parseConfigText,
  serviceView,
  sortViews,
  toConfig,
} from './gateway-view.js';
import {
  injectedSecret,
  injectedTlsSecrets,
  isObject,
  lookupSecret,
  type Obj,
  readDocs,
  type SecretValues,
  secretValues,
} from './manifest.js';
import { type CredentialOrigin, type GatewayView, SourceError } from './view.js';

interface Doc {
  readonly file: string;
  readonly obj: Obj;
}

const MANIFEST_EXT = /\.(ya?ml|json|conf)$/i;

async function listFiles(path: string): Promise<string[]> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch {
    throw new SourceError(`${path}: no such file or directory`);
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (MANIFEST_EXT.test(e.name)) out.push(p);
    }
  };
  await walk(path);
  return out;
}

export async function readFiles(paths: readonly string[], secretFile: SecretValues): Promise<GatewayView[]> {
  const views: GatewayView[] = [];
  for (const root of paths) {
    const isDir = (await stat(root).catch(() => undefined))?.isDirectory() ?? false;
    const docs: Doc[] = [];
    for (const file of await listFiles(root)) {
      for (const obj of await readDocs(file)) docs.push({ file, obj });
    }
    const clusterOf = (file: string): string => {
      if (!isDir) return '';
      const rel = relative(root, file).split(sep);
      return rel.length > 1 ? rel.slice(0, -1).join('/') : '';
    };
    for (const d of docs) {
      const configText = dataplaneConfigText(d.obj);
      const bare = configText === undefined && isBareDataplaneConfig(d.obj);
      if (configText === undefined && !bare) continue;
      const cluster = clusterOf(d.file);
      // Objects of the same cluster (directory), the gateway's own file first.
      const near = [
        ...docs.filter((o) => o.file === d.file),
        ...docs.filter((o) => o.file !== d.file && clusterOf(o.file) === cluster),
      ];
      const parsed = bare ? { raw: d.obj as unknown } : parseConfigText(configText!, d.file);
      const base = toConfig(parsed.raw, d.file);
      const [namespace, name] = identity(base.config, bare ? undefined : d.obj);
      const svcObj = near.find(
        (o) =>
          o.obj.kind === 'Service' &&
          o.obj.metadata?.name === name &&
          (o.obj.metadata?.namespace ?? namespace) === namespace,
      )?.obj;
      const service = svcObj ? serviceView(svcObj) : undefined;
      const warnings = [...base.warnings];
      let credentials: CredentialOrigin = { kind: 'none' };
      const config = base.config;
      const named = bare ? undefined : injectedSecret(d.obj);
      const secretInYaml = (name: string) =>
        near.find(
          (o) =>
            o.obj.kind === 'Secret' &&
            o.obj.metadata?.name === name &&
            (o.obj.metadata?.namespace ?? namespace) === namespace,
        );
      if (hasCredentials(config)) credentials = { kind: 'inline' };
      else if (named) {
        const inline = secretInYaml(named);
        const backing = near.find(
          (o) =>
            (o.obj.kind === 'ExternalSecret' || o.obj.kind === 'SealedSecret') &&
            producedSecretName(o.obj) === named &&
            (o.obj.metadata?.namespace ?? namespace) === namespace,
        );
        const fromFile = lookupSecret(secretFile, namespace, named);
        if (inline && !fromFile) {
          fillCredentials(config, secretValues(inline.obj));
          credentials = { kind: 'inline', secret: named };
        } else {
          if (fromFile) fillCredentials(config, fromFile);
          credentials = {
            kind: 'secret',
            secret: named,
            ...(backing && { backedBy: backing.obj.kind as 'ExternalSecret' | 'SealedSecret' }),
            ...(fromFile && { readFrom: 'secret-file' as const }),
          };
        }
      }
      // The kubernetes.io/tls Secrets: --secret-file first, as for the credentials.
      const tls = fillTls(config, bare ? new Map() : injectedTlsSecrets(d.obj), (secret) => {
        const fromFile = lookupSecret(secretFile, namespace, secret);
        if (fromFile) return { values: fromFile, from: 'secret-file' };
        const inline = secretInYaml(secret);
        return inline ? { values: secretValues(inline.obj), from: 'inline' } : undefined;
      });
      views.push({
        namespace,
        name,
        cluster,
        origin: d.file,
        config,
        listeners: listenerViews(config, service, undefined, undefined, tls),
        credentials,
        ...(service && { service }),
        warnings,
      });
    }
  }
  return sortViews(views);
}

function producedSecretName(o: Obj): string | undefined {
  const spec = isObject(o.spec) ? o.spec : {};
  if (o.kind === 'ExternalSecret') {
    const target = isObject(spec.target) ? spec.target : {};
    return typeof target.name === 'string' ? target.name : o.metadata?.name;
  }
  const tmpl = isObject(spec.template) && isObject(spec.template.metadata) ? spec.template.metadata : {};
  return typeof tmpl.name === 'string' ? tmpl.name : o.metadata?.name;
}

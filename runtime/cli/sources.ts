/**
 * Where the command-line tools read gateways from: synthesized YAML, a live cluster, or a running
 * runtime's `/status`.
 *
 * API
 *   readGatewayConfigs(source: GatewaySource): Promise<GatewayView[]>
 *   watchGatewayConfigs(source, onChange, signal): Promise<void>   (cluster: ConfigMap watch; url: poll)
 *   describeCredentials(view): string          one line: where the credentials came from
 *   parseSourceArgs(argv) / SOURCE_USAGE       the shared `-f`, `--kubeconfig`, `--context`,
 *                                              `-n`, `--url`, `--secret-file` flags
 *
 * A GatewaySource is one of
 *   { kind: 'files', paths }                 a dist/ directory (walked recursively), manifest files, or
 *                                            dataplane config files; each gateway is the
 *                                            `stunnerd.conf` key of a ConfigMap, its Service
 *                                            (same namespace, named like the gateway) gives ports
 *                                            and type, and its credentials come from an inline
 *                                            Secret of the YAML, else `--secret-file`, else stay
 *                                            "from Secret <name>" (ExternalSecret/SealedSecret-
 *                                            backed ones are named as such)
 *   { kind: 'cluster', kubeconfig?, context?, namespace? }
 *                                            ConfigMaps labelled as the constructs label them, the
 *                                            gateway Service's status (public address), the Secret
 *                                            when readable, and the gateway pods
 *   { kind: 'url', urls }                    `/status` of running runtimes (credentials are never
 *                                            served there)
 *
 * A GatewayView carries the StunnerConfig (the `$STUNNER_ADDR`-style placeholders kept as written,
 * credentials filled in where they could be read), the gateway's namespace/name, the public
 * address:port per listener (and where it came from, or why it is not known), and the origin of the
 * credentials. Errors are thrown as SourceError with a one-line message.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { CoreV1Api, KubeConfig, type V1ConfigMap, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  type ListenerConfig,
  type ListenerProtocol,
  listenerTransport,
  type StunnerConfig,
  validateConfig,
} from '../../contract/config/index.js';
import { CONFIG_KEY } from '../../contract/pod-layout.js';
import { ListWatch } from '../cluster-watch/list-watch.js';
import { shortListenerName } from '../cluster-watch/listener-name.js';
import { createLogger } from '../log/logger.js';

/** Labels the constructs put on every gateway object (constructs/naming.ts; not imported: layers). */
export const GATEWAY_LABEL_SELECTOR =
  'app.kubernetes.io/name=stunner-gateway,app.kubernetes.io/component=gateway';
const LABEL_GATEWAY_NAME = 'stunner.l7mp.io/related-gateway-name';
const LABEL_GATEWAY_NAMESPACE = 'stunner.l7mp.io/related-gateway-namespace';
const LABEL_INSTANCE = 'app.kubernetes.io/instance';
const ANNOTATION_INJECTED = 'stunner.l7mp.io/injected-at-start';
const DEFAULT_HEALTH_PORT = 8086;

export type GatewaySource =
  | { readonly kind: 'files'; readonly paths: readonly string[]; readonly secretFiles?: readonly string[] }
  | {
      readonly kind: 'cluster';
      readonly kubeconfig?: string;
      readonly context?: string;
      /** Only this namespace. @default all namespaces */
      readonly namespace?: string;
      readonly secretFiles?: readonly string[];
    }
  | { readonly kind: 'url'; readonly urls: readonly string[] };

export interface PublicEndpoint {
  readonly address: string;
  readonly port: number;
  /** `config` (public_address), `LoadBalancer`, `NodePort`, `Service spec`, or `status` (a runtime's watcher). */
  readonly source: string;
}

export interface ListenerView {
  /** Short name (`udp-listener` of `ns/gw/udp-listener`). */
  readonly name: string;
  readonly fullName: string;
  readonly protocol: ListenerProtocol;
  /** The port the runtime binds. */
  readonly port: number;
  /** The gateway Service's port for this listener, when a Service is known. */
  readonly servicePort?: number;
  readonly nodePort?: number;
  /** What clients dial, when known. */
  readonly public?: PublicEndpoint;
  /** Why no public endpoint is known (e.g. the load balancer assigns it at runtime). */
  readonly pending?: string;
  readonly routes: readonly string[];
}

export type CredentialOrigin =
  /** A Secret rendered into the same YAML (TurnAuth.inline*), or given in the config itself. */
  | { readonly kind: 'inline'; readonly secret?: string }
  /** A Secret the YAML only names; `backedBy` when the YAML renders it from a SealedSecret/ExternalSecret. */
  | {
      readonly kind: 'secret';
      readonly secret: string;
      readonly backedBy?: 'ExternalSecret' | 'SealedSecret';
      /** Where its values were read, if they were. */
      readonly readFrom?: 'secret-file' | 'cluster';
      /** Why they could not be read from the cluster. */
      readonly unreadable?: string;
    }
  /** A runtime's /status never serves credentials. */
  | { readonly kind: 'hidden' }
  | { readonly kind: 'none' };

export interface PodView {
  readonly name: string;
  readonly ip?: string;
  readonly node?: string;
  readonly phase?: string;
  readonly ready: boolean;
  /** http://<podIP>:<health port>, from admin.healthcheck_endpoint. */
  readonly healthUrl?: string;
}

export interface ServiceView {
  readonly name: string;
  readonly type: string;
  readonly ports: readonly {
    name?: string;
    port: number;
    protocol: string;
    nodePort?: number;
    targetPort?: number;
  }[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly externalTrafficPolicy?: string;
  readonly sessionAffinity?: string;
}

export interface GatewayView {
  readonly namespace: string;
  readonly name: string;
  /** The cluster it belongs to: a dist/ subdirectory (`eu-west`), a kube context, or a URL. */
  readonly cluster: string;
  /** The file, `context/namespace/configmap`, or URL it was read from. */
  readonly origin: string;
  readonly config: StunnerConfig;
  readonly listeners: readonly ListenerView[];
  readonly credentials: CredentialOrigin;
  readonly service?: ServiceView;
  /** Gateway pods (cluster source). */
  readonly pods?: readonly PodView[];
  /** The /status document (url source). */
  readonly status?: Readonly<Record<string, unknown>>;
  /** Where /status was read (url source). */
  readonly statusUrl?: string;
  /** Problems noticed while reading it (e.g. a config that does not validate). */
  readonly warnings: readonly string[];
}

export class SourceError extends Error {
  override name = 'SourceError';
}

/** One line: where a gateway's credentials come from. */
export function describeCredentials(v: GatewayView): string {
  const c = v.credentials;
  switch (c.kind) {
    case 'inline':
      return c.secret ? `inline (Secret ${c.secret} in the YAML)` : 'inline (in the config)';
    case 'secret': {
      const what = `Secret ${c.secret}${c.backedBy ? ` (from ${c.backedBy} ${c.secret})` : ''}`;
      if (c.readFrom === 'secret-file') return `from ${what} (read from --secret-file)`;
      if (c.readFrom === 'cluster') return `from ${what} (read from the cluster)`;
      return `from ${what}${c.unreadable ? ` (not readable: ${c.unreadable})` : ''}`;
    }
    case 'hidden':
      return 'not served by /status';
    case 'none':
      return 'none';
  }
}

export async function readGatewayConfigs(source: GatewaySource): Promise<GatewayView[]> {
  switch (source.kind) {
    case 'files':
      return readFiles(source.paths, await readSecretFiles(source.secretFiles ?? []));
    case 'cluster':
      return readCluster(source, await readSecretFiles(source.secretFiles ?? []));
    case 'url':
      return Promise.all(source.urls.map((u) => readUrl(u)));
  }
}

/**
 * Calls onChange with the gateways now, then again whenever they change, until the signal aborts.
 * A cluster is watched (ConfigMaps; Services and Secrets are re-read on each change); URLs are
 * polled every `pollMs`. Files are read once.
 */
export async function watchGatewayConfigs(
  source: GatewaySource,
  onChange: (views: GatewayView[]) => void,
  signal: AbortSignal,
  pollMs = 2000,
): Promise<void> {
  let last = '';
  const emit = (views: GatewayView[]): void => {
    const key = JSON.stringify(views);
    if (key === last) return;
    last = key;
    onChange(views);
  };
  if (source.kind === 'files') {
    emit(await readGatewayConfigs(source));
    return;
  }
  if (source.kind === 'url') {
    while (!signal.aborted) {
      emit(await readGatewayConfigs(source));
      await sleep(pollMs, signal);
    }
    return;
  }
  const kc = loadKubeConfig(source);
  const core = kc.makeApiClient(CoreV1Api);
  const ns = source.namespace;
  let running: Promise<void> = Promise.resolve();
  const refresh = (): void => {
    running = running.then(async () => {
      try {
        emit(await readGatewayConfigs(source));
      } catch {
        // a failed read keeps the last view; the watch retries
      }
    });
  };
  const watch = new ListWatch<V1ConfigMap>({
    what: 'gateway ConfigMaps',
    kubeConfig: kc,
    path: ns ? `/api/v1/namespaces/${ns}/configmaps` : '/api/v1/configmaps',
    query: { labelSelector: GATEWAY_LABEL_SELECTOR },
    list: () =>
      ns
        ? core.listNamespacedConfigMap({ namespace: ns, labelSelector: GATEWAY_LABEL_SELECTOR })
        : core.listConfigMapForAllNamespaces({ labelSelector: GATEWAY_LABEL_SELECTOR }),
    onChange: refresh,
    log: createLogger('all:ERROR', (line) => process.stderr.write(`${line}\n`)).scope('watch'),
    initialBackoffMs: 250,
  });
  refresh();
  watch.start();
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  watch.stop();
  await running;
}

// ---------------------------------------------------------------------------------------------
// The shared flags

export const SOURCE_USAGE = `  -f, --filename <dir|file>  synthesized YAML (a dist/ directory is walked) or a dataplane config;
                             may be repeated
  --kubeconfig <file>        read a live cluster (default: $KUBECONFIG, ~/.kube/config)
  --context <name>           kube context to use
  -n, --namespace <ns>       only this namespace (cluster source; also filters every source)
  --url <url>                a running runtime's health endpoint (http://host:8086[/status]); may be repeated
  --secret-file <file>       Secret manifests (YAML) that fill credentials the YAML only names`;

export interface SourceArgs {
  readonly source: GatewaySource | undefined;
  readonly namespace?: string;
  /** Arguments that are not source flags, in order. */
  readonly rest: string[];
}

/** Takes the source flags out of argv; throws SourceError on a misuse. */
export function parseSourceArgs(argv: readonly string[]): SourceArgs {
  const files: string[] = [];
  const urls: string[] = [];
  const secretFiles: string[] = [];
  let kubeconfig: string | undefined;
  let context: string | undefined;
  let namespace: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new SourceError(`${flag} needs a value`);
      return v;
    };
    if (flag === '-f' || flag === '--filename') files.push(value());
    else if (flag === '--url') urls.push(value());
    else if (flag === '--secret-file') secretFiles.push(value());
    else if (flag === '--kubeconfig') kubeconfig = value();
    else if (flag === '--context') context = value();
    else if (flag === '-n' || flag === '--namespace') namespace = value();
    else rest.push(a);
  }
  const kinds = [files.length > 0, urls.length > 0, kubeconfig !== undefined || context !== undefined].filter(
    Boolean,
  ).length;
  if (kinds > 1) throw new SourceError('give one source: -f, --url, or --kubeconfig/--context');
  let source: GatewaySource | undefined;
  if (files.length > 0) source = { kind: 'files', paths: files, secretFiles };
  else if (urls.length > 0) source = { kind: 'url', urls };
  else if (kubeconfig !== undefined || context !== undefined)
    source = {
      kind: 'cluster',
      ...(kubeconfig !== undefined && { kubeconfig }),
      ...(context !== undefined && { context }),
      ...(namespace !== undefined && { namespace }),
      secretFiles,
    };
  return { source, rest, ...(namespace !== undefined && { namespace }) };
}

// ---------------------------------------------------------------------------------------------
// Files

type Obj = {
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

async function readDocs(file: string): Promise<Obj[]> {
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
type SecretValues = Map<string, Record<string, string>>;

async function readSecretFiles(files: readonly string[]): Promise<SecretValues> {
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

function lookupSecret(
  values: SecretValues,
  namespace: string,
  name: string,
): Record<string, string> | undefined {
  return values.get(`${namespace}/${name}`) ?? values.get(name);
}

function secretValues(o: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  const data = isObject(o.data) ? o.data : {};
  for (const [k, v] of Object.entries(data))
    if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString();
  const sd = isObject(o.stringData) ? o.stringData : {};
  for (const [k, v] of Object.entries(sd)) if (typeof v === 'string') out[k] = v;
  return out;
}

async function readFiles(paths: readonly string[], secretFile: SecretValues): Promise<GatewayView[]> {
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
      const configText = configMapConfig(d.obj);
      const bare = configText === undefined && isBareConfig(d.obj);
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
      if (hasCredentials(config)) credentials = { kind: 'inline' };
      else if (named) {
        const inline = near.find(
          (o) =>
            o.obj.kind === 'Secret' &&
            o.obj.metadata?.name === named &&
            (o.obj.metadata?.namespace ?? namespace) === namespace,
        );
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
      views.push({
        namespace,
        name,
        cluster,
        origin: d.file,
        config,
        listeners: listenerViews(config, service, undefined),
        credentials,
        ...(service && { service }),
        warnings,
      });
    }
  }
  return sortViews(views);
}

function configMapConfig(o: Obj): string | undefined {
  if (o.kind !== 'ConfigMap' || !isObject(o.data)) return undefined;
  const v = o.data[CONFIG_KEY];
  return typeof v === 'string' ? v : undefined;
}

function isBareConfig(o: Obj): boolean {
  return (
    o.kind === undefined && typeof o.version === 'string' && (Array.isArray(o.listeners) || isObject(o.admin))
  );
}

function parseConfigText(text: string, where: string): { raw: unknown } {
  const docs = parseAllDocuments(text);
  const d = Array.isArray(docs) ? docs[0] : docs;
  if (!d || d.errors.length > 0) throw new SourceError(`${where}: ${CONFIG_KEY} is not YAML or JSON`);
  return { raw: d.toJS() };
}

/** `auth.credentials from Secret <name>; ...` (constructs/stunner-gateway.ts). */
function injectedSecret(o: Obj): string | undefined {
  const a = o.metadata?.annotations?.[ANNOTATION_INJECTED];
  return a ? /auth\.credentials from Secret ([^\s;,]+)/.exec(a)?.[1] : undefined;
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

// ---------------------------------------------------------------------------------------------
// The config, as written (placeholders kept), validated with stand-ins

/** Stand-in for every `$VAR` while validating: the operator's variables are pod addresses and names. */
const STAND_IN = '192.0.2.1';

function toConfig(raw: unknown, where: string): { config: StunnerConfig; warnings: string[] } {
  if (!isObject(raw)) throw new SourceError(`${where}: the dataplane config is not an object`);
  const input = structuredClone(raw) as Record<string, unknown>;
  const auth = isObject(input.auth) ? input.auth : {};
  const creds = isObject(auth.credentials) ? { ...auth.credentials } : {};
  // Credentials are filled in later; validate the rest with stand-ins.
  const type = String(auth.type ?? 'static').toLowerCase();
  const ephemeral = type === 'ephemeral' || type === 'longterm';
  input.auth = {
    ...auth,
    credentials: ephemeral
      ? { secret: creds.secret || 'stand-in-secret' }
      : { username: creds.username || 'stand-in', password: creds.password || 'stand-in' },
  };
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_t, k) => (typeof k === 'string' ? STAND_IN : undefined),
  });
  const r = validateConfig(input, { env });
  if (!r.ok) {
    const p = r.problems[0]!;
    throw new SourceError(
      `${where}: invalid dataplane config: ${p.path || '(root)'}: ${p.message}${r.problems.length > 1 ? ` (and ${r.problems.length - 1} more)` : ''}`,
    );
  }
  const config = structuredClone(r.config);
  config.auth.credentials = {};
  for (const k of ['username', 'password', 'secret'] as const) {
    if (typeof creds[k] === 'string' && creds[k] !== '') config.auth.credentials[k] = creds[k] as string;
  }
  // Put placeholders back where the config has them (validation saw stand-ins).
  const rawListeners = Array.isArray(input.listeners) ? (input.listeners as unknown[]) : [];
  config.listeners.forEach((l, i) => {
    const rl = rawListeners[i];
    if (isObject(rl)) {
      if (typeof rl.address === 'string' && rl.address.includes('$')) l.address = rl.address;
      if (typeof rl.public_address === 'string' && rl.public_address.includes('$'))
        l.public_address = rl.public_address;
    }
  });
  const rawClusters = Array.isArray(input.clusters) ? (input.clusters as unknown[]) : [];
  config.clusters.forEach((c, i) => {
    const rc = rawClusters[i];
    if (isObject(rc) && Array.isArray(rc.endpoints)) {
      c.endpoints = c.endpoints.map((e, j) => {
        const re = (rc.endpoints as unknown[])[j];
        return typeof re === 'string' && re.includes('$') ? re : e;
      });
    }
  });
  if (typeof (raw as { admin?: { name?: unknown } }).admin?.name === 'string')
    config.admin.name = (raw as { admin: { name: string } }).admin.name;
  return { config, warnings: [...r.warnings].filter((w) => !w.includes('environment variable')) };
}

function identity(config: StunnerConfig, cm: Obj | undefined): [string, string] {
  const labels = cm?.metadata?.labels ?? {};
  const [adminNs, adminName] = config.admin.name.includes('/')
    ? config.admin.name.split('/', 2)
    : [undefined, config.admin.name];
  const namespace = labels[LABEL_GATEWAY_NAMESPACE] ?? cm?.metadata?.namespace ?? adminNs ?? 'default';
  const name =
    labels[LABEL_GATEWAY_NAME] ??
    labels[LABEL_INSTANCE] ??
    (adminNs !== undefined ? adminName : undefined) ??
    cm?.metadata?.name?.replace(/-config$/, '') ??
    adminName ??
    'default';
  return [namespace, name!];
}

function hasCredentials(c: StunnerConfig): boolean {
  const k = c.auth.credentials;
  return c.auth.type === 'static' ? Boolean(k.username && k.password) : Boolean(k.secret);
}

function fillCredentials(c: StunnerConfig, values: Record<string, string>): void {
  for (const k of ['username', 'password', 'secret'] as const) {
    if (values[k] !== undefined) c.auth.credentials[k] = values[k];
  }
}

function serviceView(o: Obj): ServiceView {
  const spec = isObject(o.spec) ? o.spec : {};
  const ports = (Array.isArray(spec.ports) ? spec.ports : []).filter(isObject).map((p) => ({
    ...(typeof p.name === 'string' && { name: p.name }),
    port: Number(p.port),
    protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
    ...(typeof p.nodePort === 'number' && { nodePort: p.nodePort }),
    ...(typeof p.targetPort === 'number' && { targetPort: p.targetPort }),
  }));
  return {
    name: o.metadata?.name ?? '',
    type: typeof spec.type === 'string' ? spec.type : 'ClusterIP',
    ports,
    annotations: { ...(o.metadata?.annotations ?? {}) },
    ...(typeof spec.externalTrafficPolicy === 'string' && {
      externalTrafficPolicy: spec.externalTrafficPolicy,
    }),
    ...(typeof spec.sessionAffinity === 'string' && { sessionAffinity: spec.sessionAffinity }),
  };
}

/** What the cluster tells about addresses: LB ingress, or a node's ExternalIP for NodePorts. */
interface LiveAddress {
  readonly ingress?: string;
  readonly nodeAddress?: string;
}

function listenerViews(
  config: StunnerConfig,
  service: ServiceView | undefined,
  live: LiveAddress | undefined,
  statusAddresses?: ReadonlyMap<string, { address: string; port: number; source: string }>,
): ListenerView[] {
  return config.listeners.map((l) => {
    const short = shortListenerName(l.name);
    const sp = service ? servicePortOf(service, l) : undefined;
    const base = {
      name: short,
      fullName: l.name,
      protocol: l.protocol,
      port: l.port,
      routes: [...l.routes],
      ...(sp && { servicePort: sp.port }),
      ...(sp?.nodePort !== undefined && { nodePort: sp.nodePort }),
    };
    const fromStatus = statusAddresses?.get(l.name);
    if (l.public_address && !l.public_address.includes('$')) {
      return {
        ...base,
        public: { address: l.public_address, port: l.public_port ?? sp?.port ?? l.port, source: 'config' },
      };
    }
    if (fromStatus)
      return {
        ...base,
        public: {
          address: fromStatus.address,
          port: fromStatus.port,
          source: `status (${fromStatus.source})`,
        },
      };
    if (live?.ingress && sp)
      return { ...base, public: { address: live.ingress, port: sp.port, source: 'LoadBalancer' } };
    if (live?.nodeAddress && sp?.nodePort !== undefined)
      return { ...base, public: { address: live.nodeAddress, port: sp.nodePort, source: 'NodePort' } };
    return {
      ...base,
      pending: pendingReason(service, sp, live !== undefined, statusAddresses !== undefined),
    };
  });
}

function pendingReason(
  service: ServiceView | undefined,
  sp: { port: number } | undefined,
  live: boolean,
  status: boolean,
): string {
  if (status) return 'the runtime knows no public address yet';
  if (!service) return 'no gateway Service';
  if (!sp) return `Service ${service.name} has no port for this listener`;
  if (live)
    return service.type === 'LoadBalancer'
      ? 'load balancer address pending'
      : `Service type ${service.type} has no public address`;
  if (service.type === 'LoadBalancer') return 'assigned by the load balancer at run time';
  if (service.type === 'NodePort') return 'a node address, known at run time';
  return `Service type ${service.type} has no public address`;
}

function servicePortOf(svc: ServiceView, l: ListenerConfig): { port: number; nodePort?: number } | undefined {
  const short = shortListenerName(l.name);
  const proto = listenerTransport(l.protocol).toUpperCase();
  return (
    svc.ports.find((p) => p.name === short || p.name === l.name) ??
    svc.ports.find((p) => (p.targetPort ?? p.port) === l.port && p.protocol.toUpperCase() === proto)
  );
}

function sortViews(views: GatewayView[]): GatewayView[] {
  return views.sort(
    (a, b) =>
      a.cluster.localeCompare(b.cluster) ||
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name),
  );
}

// ---------------------------------------------------------------------------------------------
// A live cluster

export function loadKubeConfig(source: { kubeconfig?: string; context?: string }): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (source.kubeconfig !== undefined) kc.loadFromFile(source.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new SourceError(`kubeconfig: ${(e as Error).message.split('\n')[0]}`);
  }
  if (source.context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === source.context))
      throw new SourceError(`kubeconfig has no context "${source.context}"`);
    kc.setCurrentContext(source.context);
  }
  if (!kc.getCurrentCluster()) throw new SourceError('kubeconfig: no current cluster');
  return kc;
}

async function readCluster(
  source: Extract<GatewaySource, { kind: 'cluster' }>,
  secretFile: SecretValues,
): Promise<GatewayView[]> {
  const kc = loadKubeConfig(source);
  const core = kc.makeApiClient(CoreV1Api);
  const context = kc.getCurrentContext();
  const ns = source.namespace;
  const api = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      throw new SourceError(`cluster ${context}: ${what}: ${apiReason(e)}`);
    }
  };
  const cms = await api('list gateway ConfigMaps', () =>
    ns
      ? core.listNamespacedConfigMap({ namespace: ns, labelSelector: GATEWAY_LABEL_SELECTOR })
      : core.listConfigMapForAllNamespaces({ labelSelector: GATEWAY_LABEL_SELECTOR }),
  );
  const views: GatewayView[] = [];
  for (const cm of cms.items) {
    const text = cm.data?.[CONFIG_KEY];
    if (text === undefined) continue;
    const cmNs = cm.metadata?.namespace ?? 'default';
    const where = `${context}/${cmNs}/${cm.metadata?.name}`;
    const base = toConfig(parseConfigText(text, where).raw, where);
    const config = base.config;
    const [namespace, name] = identity(config, cm as Obj);
    const svc = await core
      .readNamespacedService({ namespace, name })
      .catch(() => undefined as V1Service | undefined);
    const service = svc ? serviceView(svc as unknown as Obj) : undefined;
    const podList = await core
      .listNamespacedPod({
        namespace,
        labelSelector: `app.kubernetes.io/name=stunner-gateway,${LABEL_INSTANCE}=${name}`,
      })
      .catch(() => undefined);
    const pods = (podList?.items ?? []).map((p) => podView(p, config));
    const ingress = svc?.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
    let nodeAddress: string | undefined;
    if (!ingress && service && (service.type === 'NodePort' || service.type === 'LoadBalancer')) {
      const nodeName = pods.find((p) => p.node)?.node;
      if (nodeName) {
        const node = await core.readNode({ name: nodeName }).catch(() => undefined);
        nodeAddress = node?.status?.addresses?.find((a) => a.type === 'ExternalIP')?.address;
      }
    }
    let credentials: CredentialOrigin = { kind: 'none' };
    const named = injectedSecret(cm as Obj);
    if (hasCredentials(config)) credentials = { kind: 'inline' };
    else if (named) {
      const fromFile = lookupSecret(secretFile, namespace, named);
      if (fromFile) {
        fillCredentials(config, fromFile);
        credentials = { kind: 'secret', secret: named, readFrom: 'secret-file' };
      } else {
        try {
          const s = await core.readNamespacedSecret({ namespace, name: named });
          fillCredentials(config, secretValues(s as unknown as Obj));
          credentials = { kind: 'secret', secret: named, readFrom: 'cluster' };
        } catch (e) {
          credentials = { kind: 'secret', secret: named, unreadable: apiReason(e) };
        }
      }
    }
    const ia = ingress?.ip || ingress?.hostname;
    views.push({
      namespace,
      name,
      cluster: context,
      origin: where,
      config,
      listeners: listenerViews(config, service, {
        ...(ia && { ingress: ia }),
        ...(nodeAddress && { nodeAddress }),
      }),
      credentials,
      ...(service && { service }),
      pods,
      warnings: base.warnings,
    });
  }
  return sortViews(views);
}

function podView(p: V1Pod, config: StunnerConfig): PodView {
  const ip = p.status?.podIP;
  const port = healthPort(config);
  return {
    name: p.metadata?.name ?? '',
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    ...(ip && { ip }),
    ...(p.spec?.nodeName && { node: p.spec.nodeName }),
    ...(p.status?.phase && { phase: p.status.phase }),
    ...(ip && port !== undefined && { healthUrl: `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` }),
  };
}

/** The health port of admin.healthcheck_endpoint (absent: 8086; empty: disabled). */
export function healthPort(config: StunnerConfig): number | undefined {
  const ep = config.admin.healthcheck_endpoint;
  if (ep === '') return undefined;
  const m = /:(\d+)(?:\/|$)/.exec(ep.replace(/^[a-z]+:\/\//, ''));
  return m ? Number(m[1]) : DEFAULT_HEALTH_PORT;
}

function apiReason(e: unknown): string {
  const err = e as {
    code?: number;
    statusCode?: number;
    body?: unknown;
    message?: string;
    cause?: { code?: string };
  };
  const code = err.code ?? err.statusCode;
  if (typeof code === 'number') {
    const reason =
      code === 401
        ? 'unauthorized'
        : code === 403
          ? 'forbidden'
          : code === 404
            ? 'not found'
            : `HTTP ${code}`;
    return `${reason} (${code})`;
  }
  return (err.cause?.code ?? err.message ?? String(e)).split('\n')[0]!;
}

// ---------------------------------------------------------------------------------------------
// A running runtime's /status

export function statusUrlOf(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SourceError(`--url ${url}: not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new SourceError(`--url ${url}: must be http:// or https://`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/status';
  return u.toString();
}

export async function fetchStatus(url: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const target = statusUrlOf(url);
  let res: Response;
  try {
    res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    throw new SourceError(`${target}: unreachable${cause ? ` (${cause})` : ''}`);
  }
  const body = await res.text();
  if (!res.ok) throw new SourceError(`${target}: HTTP ${res.status}`);
  try {
    const v = JSON.parse(body) as unknown;
    if (!isObject(v)) throw new Error('not an object');
    return v;
  } catch {
    throw new SourceError(`${target}: not a /status document`);
  }
}

async function readUrl(url: string): Promise<GatewayView> {
  const target = statusUrlOf(url);
  const st = await fetchStatus(url);
  const admin = isObject(st.admin) ? st.admin : {};
  const auth = isObject(st.auth) ? st.auth : {};
  const listeners = (Array.isArray(st.listeners) ? st.listeners : []).filter(isObject);
  const clusters = (Array.isArray(st.clusters) ? st.clusters : []).filter(isObject);
  const raw = {
    version: 'v1',
    admin: {
      name: admin.name,
      ...(typeof admin.loglevel === 'string' && { loglevel: admin.loglevel }),
      ...(typeof admin.healthcheck_endpoint === 'string' && {
        healthcheck_endpoint: admin.healthcheck_endpoint,
      }),
      ...(typeof admin.metrics_endpoint === 'string' && { metrics_endpoint: admin.metrics_endpoint }),
      ...(typeof admin.user_quota === 'number' && { user_quota: admin.user_quota }),
      ...(typeof admin.max_allocations === 'number' && { max_allocations: admin.max_allocations }),
    },
    auth: { type: auth.type, realm: auth.realm, credentials: {} },
    listeners: listeners.map((l) => ({
      name: l.name,
      protocol: l.protocol,
      address: l.address,
      port: l.port,
      ...(typeof l.public_address === 'string' && { public_address: l.public_address }),
      ...(typeof l.public_port === 'number' && { public_port: l.public_port }),
      routes: l.routes ?? [],
    })),
    clusters: clusters.map((c) => ({
      name: c.name,
      type: c.type,
      ...(typeof c.protocol === 'string' && { protocol: c.protocol }),
      endpoints: c.endpoints ?? [],
    })),
  };
  const { config, warnings } = toConfig(raw, target);
  const [namespace, name] = identity(config, undefined);
  const addrs = new Map<string, { address: string; port: number; source: string }>();
  for (const a of (Array.isArray(st.publicAddresses) ? st.publicAddresses : []).filter(isObject)) {
    if (typeof a.listener === 'string' && typeof a.address === 'string' && typeof a.port === 'number')
      addrs.set(a.listener, { address: a.address, port: a.port, source: String(a.source ?? '') });
  }
  return {
    namespace,
    name,
    cluster: new URL(target).host,
    origin: target,
    config,
    listeners: listenerViews(config, undefined, undefined, addrs),
    credentials: { kind: 'hidden' },
    status: st,
    statusUrl: target,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

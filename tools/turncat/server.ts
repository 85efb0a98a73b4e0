/**
 * turncat's <server> argument: where the tunnel dials, and with which credentials, from what a
 * user types:
 *   turn://user:pass@host:port?transport=udp|tcp, turns://user:pass@host:port
 *   file://<dataplane config>#<listener>    (address, port, transport and credentials from the file)
 *   file://<dist YAML>#<listener>           (through the gateway reader, tools/sources/)
 *   k8s://<namespace>/<gateway>:<listener>  (the same reader, from the kubeconfig's cluster)
 */
import { readFile } from 'node:fs/promises';
import type { StunnerConfig } from '../../contract/config/index.js';
import { DEFAULT_PORT, DEFAULT_TLS_PORT } from '../../contract/defaults.js';
import { isManifestText } from '../../contract/manifests.js';
import { readGateways } from '../sources/gateway-reader.js';
import {
  type CredentialSource,
  findListener,
  type GatewayReader,
  loadDataplaneConfig,
  TargetError,
  type TurnTarget,
  targetOfListener,
} from '../target/target.js';

/** True when a YAML file holds Kubernetes objects (synthesized dist/) rather than one dataplane config. */
export async function isKubernetesYaml(path: string): Promise<boolean> {
  try {
    return isManifestText(await readFile(path, 'utf8'));
  } catch {
    return false;
  }
}

function parseTurnUri(raw: string): TurnTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new TargetError(
      `"${raw}" is not a valid TURN URI; use turn://user:pass@host:port?transport=udp|tcp`,
    );
  }
  const tls = u.protocol === 'turns:';
  const t = (u.searchParams.get('transport') ?? (tls ? 'tcp' : 'udp')).toLowerCase();
  if (t !== 'udp' && t !== 'tcp') throw new TargetError(`transport "${t}" is not udp or tcp`);
  if (tls && t === 'udp')
    throw new TargetError('turns://...?transport=udp is TURN-DTLS, which this client does not speak');
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  if (username === '' || password === '') {
    throw new TargetError(`${u.protocol}// URI needs credentials: ${u.protocol}//user:pass@host:port`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new TargetError(`"${raw}" names no host`);
  const port = u.port === '' ? (tls ? DEFAULT_TLS_PORT : DEFAULT_PORT) : Number(u.port);
  return {
    host,
    port,
    transport: tls ? 'tls' : t,
    username,
    password,
    listener: `${host}:${port}`,
  };
}

export interface ResolveOptions extends CredentialSource {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Dial this host instead of the listener's public address (file://, k8s://). */
  readonly host?: string;
}

/** Resolves a server argument of turncat (or a --server of icetest) into a dial target. */
export async function resolveTurnTarget(raw: string, opts: ResolveOptions = {}): Promise<TurnTarget> {
  if (raw.startsWith('turn://') || raw.startsWith('turns://')) return parseTurnUri(raw);
  if (raw.startsWith('file://')) {
    const rest = raw.slice('file://'.length);
    const hash = rest.lastIndexOf('#');
    const path = hash < 0 ? rest : rest.slice(0, hash);
    const name = hash < 0 ? undefined : rest.slice(hash + 1);
    if (path === '') throw new TargetError('file:// needs a path: file://<config>#<listener>');
    if (await isKubernetesYaml(path)) {
      const configs = await readWithReader({ kind: 'dist', path }, opts, raw);
      return pickFromConfigs(configs, name, path, opts);
    }
    const config = await loadDataplaneConfig(path, opts);
    return targetOfListener(config, findListener(config, name, path), opts, {
      where: path,
      ...(opts.host !== undefined ? { host: opts.host } : {}),
    });
  }
  if (raw.startsWith('k8s://')) {
    const m = /^k8s:\/\/([^/]+)\/([^:]+)(?::(.+))?$/.exec(raw);
    if (!m) throw new TargetError(`"${raw}" is not k8s://<namespace>/<gateway>:<listener>`);
    const [, namespace, gateway, listener] = m as unknown as [string, string, string, string | undefined];
    const configs = await readWithReader({ kind: 'k8s', namespace, gateway }, opts, raw);
    return pickFromConfigs(configs, listener, `gateway ${namespace}/${gateway}`, opts);
  }
  throw new TargetError(`"${raw}" is not a server: use turn://, turns://, file:// or k8s://`);
}

async function readWithReader(
  source: Parameters<GatewayReader>[0],
  opts: ResolveOptions,
  _raw: string,
): Promise<StunnerConfig[]> {
  return readGateways(source, {
    ...(opts.secretFile !== undefined ? { secretFile: opts.secretFile } : {}),
    ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}),
    ...(opts.context !== undefined ? { context: opts.context } : {}),
  });
}

async function pickFromConfigs(
  configs: StunnerConfig[],
  name: string | undefined,
  where: string,
  opts: ResolveOptions,
): Promise<TurnTarget> {
  const all = configs.flatMap((c) => c.listeners.map((l) => ({ c, l })));
  const short = (n: string) => n.split('/').pop();
  const hits =
    name === undefined
      ? all
      : all.filter(({ l }) => l.name === name || short(l.name) === name || l.name.endsWith(`/${name}`));
  if (hits.length !== 1) {
    throw new TargetError(
      `${where}: ${hits.length === 0 ? `no listener "${name}"` : 'several listeners match; name one after # or :'}; listeners: ${all.map(({ l }) => l.name).join(', ') || 'none'}`,
    );
  }
  return targetOfListener(hits[0]!.c, hits[0]!.l, opts, {
    where,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
  });
}

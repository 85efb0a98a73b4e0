/**
 * From a dataplane config as written (its `$VAR` placeholders kept, validated with stand-ins), the
 * gateway's Service and what the cluster or runtime tells about addresses, to a GatewayView: the
 * part every source kind shares.
 */
import { parseAllDocuments } from 'yaml';
import {
  isTlsProtocol,
  type ListenerConfig,
  listenerTransport,
  type StunnerConfig,
} from '../../contract/config/index.js';
import { LABEL_GATEWAY_NAME, LABEL_GATEWAY_NAMESPACE, LABEL_INSTANCE } from '../../contract/labels.js';
import { CONFIG_KEY } from '../../contract/pod-layout.js';
import { AUTH_KEYS, TLS_KEYS } from '../../contract/secret-keys.js';
import { shortListenerName } from '../../runtime/cluster-watch/listener-name.js';
import { validateClientConfig } from '../target/target.js';
import { isObject, type Obj } from './manifest.js';
import {
  type GatewayView,
  type ListenerView,
  type ServiceView,
  SourceError,
  type TlsOrigin,
} from './view.js';

export function parseConfigText(text: string, where: string): { raw: unknown } {
  const docs = parseAllDocuments(text);
  const d = Array.isArray(docs) ? docs[0] : docs;
  if (!d || d.errors.length > 0) throw new SourceError(`${where}: ${CONFIG_KEY} is not YAML or JSON`);
  return { raw: d.toJS() };
}

/** Stand-in for every `$VAR` while validating: the operator's variables are pod addresses and names. */
const STAND_IN = '192.0.2.1';

export function toConfig(raw: unknown, where: string): { config: StunnerConfig; warnings: string[] } {
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
  // TLS listeners without the cert/key the pod injects are valid: no tool here terminates TLS.
  const r = validateClientConfig(input, { env });
  if (!r.ok) {
    const p = r.problems[0]!;
    throw new SourceError(
      `${where}: invalid dataplane config: ${p.path || '(root)'}: ${p.message}${r.problems.length > 1 ? ` (and ${r.problems.length - 1} more)` : ''}`,
    );
  }
  const config = structuredClone(r.config);
  config.auth.credentials = {};
  for (const k of AUTH_KEYS) {
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

export function identity(config: StunnerConfig, cm: Obj | undefined): [string, string] {
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

export function hasCredentials(c: StunnerConfig): boolean {
  const k = c.auth.credentials;
  return c.auth.type === 'static' ? Boolean(k.username && k.password) : Boolean(k.secret);
}

export function fillCredentials(c: StunnerConfig, values: Record<string, string>): void {
  for (const k of AUTH_KEYS) {
    if (values[k] !== undefined) c.auth.credentials[k] = values[k];
  }
}

/**
 * Where each TLS listener's certificate and key come from (by full listener name), filling them
 * into the config where `read` finds the Secret the gateway names for it (`named`, by short
 * listener name), as base64 PEM, as the pod's bootstrap injects them.
 */
export function fillTls(
  config: StunnerConfig,
  named: ReadonlyMap<string, string>,
  read: (secret: string) => { values: Record<string, string>; from: 'inline' | 'secret-file' } | undefined,
): Map<string, TlsOrigin> {
  const origins = new Map<string, TlsOrigin>();
  for (const l of config.listeners) {
    if (!isTlsProtocol(l.protocol)) continue;
    if (l.cert && l.key) {
      origins.set(l.name, { kind: 'config' });
      continue;
    }
    const secret = named.get(shortListenerName(l.name));
    if (secret === undefined) {
      origins.set(l.name, { kind: 'unknown' });
      continue;
    }
    const found = read(secret);
    const [crt, key] = TLS_KEYS;
    if (found?.values[crt] && found.values[key]) {
      l.cert = Buffer.from(found.values[crt]).toString('base64');
      l.key = Buffer.from(found.values[key]).toString('base64');
      origins.set(l.name, { kind: 'secret', secret, readFrom: found.from });
    } else origins.set(l.name, { kind: 'secret', secret });
  }
  return origins;
}

export function serviceView(o: Obj): ServiceView {
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
export interface LiveAddress {
  readonly ingress?: string;
  readonly nodeAddress?: string;
}

export function listenerViews(
  config: StunnerConfig,
  service: ServiceView | undefined,
  live: LiveAddress | undefined,
  statusAddresses?: ReadonlyMap<string, { address: string; port: number; source: string }>,
  tls?: ReadonlyMap<string, TlsOrigin>,
): ListenerView[] {
  return config.listeners.map((l) => {
    const short = shortListenerName(l.name);
    const sp = service ? servicePortOf(service, l) : undefined;
    const origin = isTlsProtocol(l.protocol) ? (tls?.get(l.name) ?? { kind: 'unknown' as const }) : undefined;
    const base = {
      name: short,
      fullName: l.name,
      protocol: l.protocol,
      port: l.port,
      routes: [...l.routes],
      ...(sp && { servicePort: sp.port }),
      ...(sp?.nodePort !== undefined && { nodePort: sp.nodePort }),
      ...(origin && { tls: origin }),
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

export function servicePortOf(
  svc: ServiceView,
  l: ListenerConfig,
): { port: number; nodePort?: number } | undefined {
  const short = shortListenerName(l.name);
  const proto = listenerTransport(l.protocol).toUpperCase();
  return (
    svc.ports.find((p) => p.name === short || p.name === l.name) ??
    svc.ports.find((p) => (p.targetPort ?? p.port) === l.port && p.protocol.toUpperCase() === proto)
  );
}

export function sortViews(views: GatewayView[]): GatewayView[] {
  return views.sort(
    (a, b) =>
      a.cluster.localeCompare(b.cluster) ||
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name),
  );
}

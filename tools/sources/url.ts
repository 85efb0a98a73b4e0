/**
 * A gateway from a running runtime's `/status` (its health endpoint): the config it serves, the
 * public addresses its watcher found. Credentials are never served there.
 */
import { identity, listenerViews, toConfig } from './gateway-view.js';
import { isObject } from './manifest.js';
import { type GatewayView, SourceError } from './view.js';

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

export async function readUrl(url: string): Promise<GatewayView> {
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

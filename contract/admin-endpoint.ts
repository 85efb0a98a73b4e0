/**
 * The admin endpoints of the dataplane config, `admin.healthcheck_endpoint` and
 * `admin.metrics_endpoint`: `http://[address][:port][/path]`, with the scheme mandatory as in
 * STUNner and "" meaning off. The validator, the runtime that serves them, the perimeter that keeps
 * them off the relay and the tools that probe them all parse them here, with these defaults.
 */
import type { AdminConfig } from './config/types.js';
import { DEFAULT_HEALTHCHECK_PORT, DEFAULT_METRICS_PATH, DEFAULT_METRICS_PORT } from './defaults.js';

/** An admin endpoint, parsed. */
export interface AdminEndpoint {
  /** Address to bind; undefined binds every address. */
  readonly host: string | undefined;
  readonly port: number;
  readonly path: string;
}

/** What an endpoint that leaves out its port or path gets. */
export interface AdminEndpointDefaults {
  readonly port: number;
  readonly path: string;
}

export const HEALTHCHECK_ENDPOINT_DEFAULTS: AdminEndpointDefaults = {
  port: DEFAULT_HEALTHCHECK_PORT,
  path: '/',
};
export const METRICS_ENDPOINT_DEFAULTS: AdminEndpointDefaults = {
  port: DEFAULT_METRICS_PORT,
  path: DEFAULT_METRICS_PATH,
};

const ADMIN_ENDPOINT = /^http:\/\/(\[[0-9a-fA-F:.]+\]|[^/:\s[\]]*)(?::([0-9]{1,5}))?(\/\S*)?$/;

/** Whether the validator accepts `url`: "" (off), or the syntax with a port from 1 to 65535. */
export function isAdminEndpoint(url: string): boolean {
  if (url === '') return true;
  const m = ADMIN_ENDPOINT.exec(url);
  return m !== null && (m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535));
}

/**
 * Parses an endpoint the config validator has accepted. An empty string means "off" and gives
 * undefined. A missing port or path takes the given defaults.
 */
export function parseAdminEndpoint(url: string, defaults: AdminEndpointDefaults): AdminEndpoint | undefined {
  if (url === '') return undefined;
  const m = ADMIN_ENDPOINT.exec(url);
  if (!m) throw new Error(`"${url}" is not a valid endpoint; expected http://[address][:port][/path]`);
  const rawHost = m[1] ?? '';
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const path = m[3] && m[3] !== '/' ? m[3] : defaults.path;
  return { host: host === '' ? undefined : host, port: m[2] ? Number(m[2]) : defaults.port, path };
}

/** The health-check endpoint (`/live`, `/ready`, `/status`) of a config, or undefined when off. */
export function healthcheckEndpointOf(
  admin: Pick<AdminConfig, 'healthcheck_endpoint'>,
): AdminEndpoint | undefined {
  return parseAdminEndpoint(admin.healthcheck_endpoint, HEALTHCHECK_ENDPOINT_DEFAULTS);
}

/** The Prometheus endpoint of a config, or undefined when off. */
export function metricsEndpointOf(admin: Pick<AdminConfig, 'metrics_endpoint'>): AdminEndpoint | undefined {
  return parseAdminEndpoint(admin.metrics_endpoint, METRICS_ENDPOINT_DEFAULTS);
}

/** An endpoint on every address of the pod: `http://:<port><path>`. */
export function adminEndpointUrl(port: number, path = ''): string {
  return `http://:${port}${path}`;
}

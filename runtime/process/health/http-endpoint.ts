/** The `http://[address][:port][/path]` endpoints of admin.healthcheck_endpoint and admin.metrics_endpoint. */

export interface HttpEndpoint {
  /** Address to bind; undefined binds every address. */
  readonly host: string | undefined;
  readonly port: number;
  readonly path: string;
}

/**
 * Parses an endpoint the config validator has accepted. An empty string means "off" and gives
 * undefined. A missing port or path takes the given defaults.
 */
export function parseHttpEndpoint(
  url: string,
  defaults: { port: number; path: string },
): HttpEndpoint | undefined {
  if (url === '') return undefined;
  const m = /^http:\/\/(\[[0-9a-fA-F:.]+\]|[^/:\s[\]]*)(?::([0-9]{1,5}))?(\/\S*)?$/.exec(url);
  if (!m) throw new Error(`"${url}" is not a valid endpoint; expected http://[address][:port][/path]`);
  const rawHost = m[1] ?? '';
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const path = m[3] && m[3] !== '/' ? m[3] : defaults.path;
  return { host: host === '' ? undefined : host, port: m[2] ? Number(m[2]) : defaults.port, path };
}

/** Endpoints that share an address and port are served by one HTTP server. */
export function bindKey(e: HttpEndpoint): string {
  return `${e.host ?? '*'}|${e.port}`;
}

/** Which admin endpoints (contract/admin-endpoint.ts) share one HTTP server. */
import type { AdminEndpoint } from '../../../contract/admin-endpoint.js';

/** Endpoints that share an address and port are served by one HTTP server. */
export function bindKey(e: AdminEndpoint): string {
  return `${e.host ?? '*'}|${e.port}`;
}

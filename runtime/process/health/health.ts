/** /live, /ready and /status, as STUNner serves them on admin.healthcheck_endpoint. */
import type { AdminServer } from './admin-server.js';

export type GatewayStatus = 'READY' | 'NOT-READY' | 'TERMINATING';

export interface HealthSource {
  /** READY serves /ready 200; NOT-READY and TERMINATING serve 503. */
  state(): GatewayStatus;
  /** The /status document; `status` is filled in from state(). */
  status(): Record<string, unknown>;
}

export function addHealthRoutes(server: AdminServer, source: HealthSource): void {
  server.route('/live', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('OK\n');
  });
  server.route('/ready', (_req, res) => {
    const s = source.state();
    res.writeHead(s === 'READY' ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(`${s}\n`);
  });
  server.route('/status', (_req, res) => {
    const body = JSON.stringify({ ...source.status(), status: source.state() }, null, 2);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`${body}\n`);
  });
}

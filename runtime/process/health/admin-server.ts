/** A small HTTP server for the admin endpoints (health, status, metrics), routed by exact path. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminEndpoint } from '../../../contract/admin-endpoint.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export class AdminServer {
  private readonly routes = new Map<string, AdminHandler>();
  private server: Server | undefined;

  constructor(readonly endpoint: AdminEndpoint) {}

  route(path: string, handler: AdminHandler): this {
    this.routes.set(path, handler);
    return this;
  }

  paths(): string[] {
    return [...this.routes.keys()];
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.endpoint.port, this.endpoint.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  /** The bound port (useful with port 0 in tests). */
  port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.endpoint.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const q = (req.url ?? '/').indexOf('?');
    const path = q < 0 ? (req.url ?? '/') : (req.url ?? '/').slice(0, q);
    const handler = this.routes.get(path);
    if (!handler || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(handler ? 405 : 404, { 'content-type': 'text/plain' });
      res.end(handler ? 'method not allowed\n' : 'not found\n');
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${(err as Error).message}\n`);
      });
  }
}

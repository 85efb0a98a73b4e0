/**
 * A node:http server on 127.0.0.1 whose answers the test writes, byte by byte if it likes: for
 * the Kubernetes API client's edge cases (chunking, bounds, errors), which the API double
 * (k8s-api-double.ts) does not script.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ScriptedRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  /** Set when the client has gone (the connection closed). */
  closed: boolean;
}

export interface ScriptedApi {
  readonly url: string;
  readonly requests: ScriptedRequest[];
  close(): Promise<void>;
}

export async function scriptedApi(
  handler: (req: IncomingMessage, res: ServerResponse, seen: ScriptedRequest) => void,
): Promise<ScriptedApi> {
  const requests: ScriptedRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const seen: ScriptedRequest = {
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      closed: false,
    };
    requests.push(seen);
    res.on('close', () => {
      seen.closed = true;
    });
    handler(req, res, seen);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `text` one chunk of `size` bytes at a time, each in its own write after a tick. */
export async function writeInChunks(res: ServerResponse, text: string, size: number): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) {
    if (res.destroyed) return;
    res.write(bytes.subarray(i, i + size));
    await new Promise((r) => setImmediate(r));
  }
}

export const event = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;

export function statusAnswer(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code }));
}

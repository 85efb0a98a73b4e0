/**
 * The page server of the JanusDemo: serves the echo-test page, hands it a relay-only ICE
 * configuration from the ICE auth service (`GET /config`, fresh credentials per page load), and
 * forwards the page's Janus API requests (`/janus/...`) to Janus's HTTP API through Janus's
 * ordinary Service (JANUS_URL). So the browser talks to one origin, signalling goes over plain
 * HTTP to Janus, and only media crosses the gateway.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { envNumber, log, onTerminate } from '../shared/env.js';
import { iceSourceFromEnv } from '../shared/ice.js';
import { APP_JS, INDEX_HTML } from './page.js';

const ice = iceSourceFromEnv();
const port = envNumber(DemoEnv.PORT, DEMO_DEFAULTS.webPort);
const janus = (process.env[DemoEnv.JANUS_URL] ?? '').replace(/\/+$/, '');
if (!janus) {
  log(`${DemoEnv.JANUS_URL} is not set: the URL of Janus's HTTP API`);
  process.exit(1);
}
let pages = 0;

const http = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/live' || path === '/ready') return send(res, 200, 'text/plain', 'ok\n');
  if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', APP_JS);
  if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', INDEX_HTML);
  if (path === '/config') {
    ice
      .fetch(`echo-${++pages}`)
      .then((iceConfiguration) => send(res, 200, 'application/json', JSON.stringify({ iceConfiguration })))
      .catch((e: Error) => {
        log(`cannot get an ICE configuration: ${e.message}`);
        send(res, 502, 'text/plain', 'no ICE configuration (see the server log)\n');
      });
    return;
  }
  if (path === '/janus' || path.startsWith('/janus/')) return void forward(req, res);
  send(res, 404, 'text/plain', 'not found\n');
});

/** One Janus API request, to Janus's Service; long polls (GET /janus/<session>) wait as long as Janus does. */
async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = req.method === 'POST' ? Buffer.concat(chunks) : undefined;
    const r = await fetch(`${janus}${(req.url ?? '').replace(/^\/janus/, '')}`, {
      method: req.method ?? 'GET',
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(60_000),
    });
    send(res, r.status, 'application/json', await r.text());
  } catch (e) {
    log(`Janus at ${janus} did not answer: ${(e as Error).message}`);
    send(res, 502, 'text/plain', 'Janus did not answer (see the server log)\n');
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

http.listen(port, () => log(`janus-echo page server ready on :${port}, Janus at ${janus}`));
onTerminate(() => http.close());

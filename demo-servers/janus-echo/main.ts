/**
 * The page server of the JanusDemo: serves the echo-test page, hands it a relay-only ICE
 * configuration from the ICE auth service (`GET /config`, fresh credentials per page load), and
 * forwards the page's Janus API requests (`/janus/...`) to Janus's HTTP API through Janus's
 * ordinary Service (JANUS_URL). So the browser talks to one origin, signalling goes over plain
 * HTTP to Janus, and only media crosses the gateway.
 *
 * A request body and Janus's answer are each at most MAX_JANUS_BYTES (413 and 502 beyond; nothing
 * past the limit is kept), and only Janus API paths are forwarded (no `..`: 400).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { envNumber, log, onTerminate } from '../shared/env.js';
import { createDemoServer, readBody, sendText } from '../shared/http.js';
import { iceSourceFromEnv } from '../shared/ice.js';
import { APP_JS, INDEX_HTML } from './page.js';

/** A request body to Janus, and Janus's answer, in bytes: Janus API messages are a few KiB. */
const MAX_JANUS_BYTES = 1024 * 1024;

const ice = iceSourceFromEnv();
const port = envNumber(DemoEnv.PORT, DEMO_DEFAULTS.webPort);
const janus = (process.env[DemoEnv.JANUS_URL] ?? '').replace(/\/+$/, '');
if (!janus) {
  log(`${DemoEnv.JANUS_URL} is not set: the URL of Janus's HTTP API`);
  process.exit(1);
}
let pages = 0;

const http = createDemoServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/live' || path === '/ready') return sendText(res, 200, 'ok\n');
  if (path === '/app.js') return sendText(res, 200, APP_JS, 'text/javascript; charset=utf-8');
  if (path === '/' || path === '/index.html')
    return sendText(res, 200, INDEX_HTML, 'text/html; charset=utf-8');
  if (path === '/config') {
    ice
      .fetch(`echo-${++pages}`)
      .then((iceConfiguration) =>
        sendText(res, 200, JSON.stringify({ iceConfiguration }), 'application/json'),
      )
      .catch((e: Error) => {
        log(`cannot get an ICE configuration: ${e.message}`);
        sendText(res, 502, 'no ICE configuration (see the server log)\n');
      });
    return;
  }
  if (path === '/janus' || path.startsWith('/janus/')) return forward(req, res);
  sendText(res, 404, 'not found\n');
});

/**
 * The Janus API path below `/janus` of a request URL, or undefined when it is not one: Janus's
 * paths are `/janus[/<session>[/<handle>]]` and `/janus/info`, so every segment is a plain word
 * (no `..`, no encoded separators) and nothing can reach a path outside Janus's API.
 */
function janusPath(url: string): string | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  const rest = path.slice('/janus'.length);
  if (!/^(\/[A-Za-z0-9_-]{1,64}){0,3}$/.test(rest)) return undefined;
  if (!/^(\?[A-Za-z0-9_=&.-]{0,512})?$/.test(query)) return undefined;
  return `${rest}${query}`;
}

/** One Janus API request, to Janus's Service; long polls (GET /janus/<session>) wait as long as Janus does. */
async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const rest = janusPath(req.url ?? '');
  if (rest === undefined) return sendText(res, 400, 'not a Janus API path\n');
  if (req.method !== 'GET' && req.method !== 'POST') {
    res.setHeader('allow', 'GET, POST');
    return sendText(res, 405, 'GET or POST\n');
  }
  const body = await readBody(req, res, MAX_JANUS_BYTES);
  if (body === undefined) return; // answered 413
  let answer: string;
  let status: number;
  try {
    const r = await fetch(`${janus}${rest}`, {
      method: req.method,
      headers: { 'content-type': 'application/json' },
      ...(req.method === 'POST' ? { body } : {}),
      signal: AbortSignal.timeout(60_000),
    });
    status = r.status;
    const read = await readAtMost(r, MAX_JANUS_BYTES);
    if (read === undefined) {
      log(`Janus at ${janus} answered more than ${MAX_JANUS_BYTES} bytes: dropped`);
      return sendText(res, 502, 'Janus answered too much\n');
    }
    answer = read;
  } catch (e) {
    log(`Janus at ${janus} did not answer: ${(e as Error).message}`);
    return sendText(res, 502, 'Janus did not answer (see the server log)\n');
  }
  sendText(res, status, answer, 'application/json');
}

/** An answer's body as text, or undefined (and the rest left unread) when it is over `max` bytes. */
async function readAtMost(r: Response, max: number): Promise<string | undefined> {
  if (Number(r.headers.get('content-length') ?? 0) > max) {
    await r.body?.cancel();
    return undefined;
  }
  if (r.body === null) return '';
  const reader = r.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

http.listen(port, () => log(`janus-echo page server ready on :${port}, Janus at ${janus}`));
onTerminate(() => http.close());

/**
 * The MediasoupDemo's landing endpoint: `GET /` asks the ICE auth service for the gateway's ICE
 * servers with fresh ephemeral TURN credentials (`GET /ice`) and redirects the browser (302) to
 * the mediasoup client URL with them in the parameters the mediasoup demo client reads
 * (`enableIceServer`, `iceServerHost`, `iceServerPort`, `iceServerProto`, `iceServerUser`,
 * `iceServerPass`). So no long-lived password is ever in a URL: the ones in the redirect expire
 * after ICE_TTL_SECONDS. The browser's own query parameters (e.g. `roomId`) are passed on.
 *
 * The redirect's URL carries the TURN password (the mediasoup client reads it there): it may land
 * in the browser's history and in proxies' logs, so keep ICE_TTL_SECONDS short. No request can
 * stop the server (a URL it cannot parse gets 400), and at most MAX_PENDING credential requests
 * wait on the ICE auth service at once (503 beyond).
 */
import type { ServerResponse } from 'node:http';
import { DEFAULT_PORT } from '../../contract/defaults.js';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { envNumber, log, onTerminate } from '../shared/env.js';
import { createDemoServer, sendText } from '../shared/http.js';
import { iceSourceFromEnv } from '../shared/ice.js';

const ice = iceSourceFromEnv();
const port = envNumber(DemoEnv.PORT, DEMO_DEFAULTS.webPort);
const target = process.env[DemoEnv.MEDIASOUP_URL] ?? '';
try {
  new URL(target);
} catch {
  log(`${DemoEnv.MEDIASOUP_URL}=${JSON.stringify(target)} is not a URL: the mediasoup client's URL`);
  process.exit(1);
}
let visits = 0;

/** `turn:host:port?transport=udp` → its parts (IPv6 hosts in brackets stay bracketed). */
function parseTurnUrl(url: string): { host: string; port: string; proto: string } | undefined {
  const m = /^turns?:(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/.exec(url);
  if (!m) return undefined;
  return { host: m[1]!, port: m[2] ?? String(DEFAULT_PORT), proto: m[3] ?? 'udp' };
}

async function redirect(query: URLSearchParams, res: ServerResponse): Promise<void> {
  const config = await ice.fetch(`mediasoup-${++visits}`);
  for (const server of config.iceServers) {
    for (const url of server.urls) {
      const turn = parseTurnUrl(url);
      if (!turn || server.username === undefined || server.credential === undefined) continue;
      const to = new URL(target);
      for (const [k, v] of query) to.searchParams.set(k, v);
      to.searchParams.set('enableIceServer', 'yes');
      to.searchParams.set('iceServerHost', turn.host);
      to.searchParams.set('iceServerPort', turn.port);
      to.searchParams.set('iceServerProto', turn.proto);
      to.searchParams.set('iceServerUser', server.username);
      to.searchParams.set('iceServerPass', server.credential);
      res.writeHead(302, {
        location: to.toString(),
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      });
      res.end();
      return;
    }
  }
  throw new Error('the ICE auth service returned no TURN server with credentials');
}

/** Credential requests waiting on the ICE auth service at once. */
const MAX_PENDING = 64;
let pending = 0;

const http = createDemoServer((req, res) => {
  let u: URL;
  try {
    u = new URL(req.url ?? '/', 'http://landing');
  } catch {
    return sendText(res, 400, 'bad request URL\n');
  }
  if (u.pathname === '/live' || u.pathname === '/ready') return sendText(res, 200, 'ok\n');
  if (u.pathname !== '/') return sendText(res, 404, 'not found\n');
  if (pending >= MAX_PENDING) return sendText(res, 503, 'busy, try again\n');
  pending++;
  redirect(u.searchParams, res)
    .catch((e: Error) => {
      log(`cannot get TURN credentials: ${e.message}`);
      sendText(res, 502, 'no TURN credentials from the ICE auth service (see the landing server log)\n');
    })
    .finally(() => pending--);
});

http.listen(port, () => log(`mediasoup-landing ready on :${port}, redirecting to ${target}`));
onTerminate(() => http.close());

/**
 * The application server of the DirectOne2OneCall demo (STUNner's headless deployment model):
 * serves the page, and relays signaling between the pages over a WebSocket (`/ws`), in the
 * message format of STUNner's direct one-to-one call tutorial:
 *
 *   page -> server: register {name}, call {to, sdpOffer}, incomingCallResponse {from,
 *                   callResponse, sdpAnswer}, onIceCandidate {candidate}, stop
 *   server -> page: registerResponse {response, iceConfiguration}, iceConfiguration (a refresh),
 *                   incomingCall {from, sdpOffer}, callResponse {response, sdpAnswer},
 *                   iceCandidate {candidate}, stopCommunication
 *
 * On every `register` it asks the ICE auth service for a fresh ICE configuration for that user
 * and returns it in `registerResponse`; before the credentials in it expire, it asks again and
 * pushes the new one. Media never touches this server: the pages relay it to each other through
 * the gateways.
 *
 * Hostile clients: a WebSocket that breaks the protocol, or sends anything but a JSON object, is
 * closed or answered with an error, never the process. One socket registers one name, which goes
 * when the socket closes; at most MAX_USERS names are registered at once. The WebSocket accepts
 * pages of its own origin only (the Origin's host is the request's Host), plus the origins listed
 * in ALLOWED_ORIGINS (comma-separated, e.g. `https://call.example.com`), so that another site's
 * page cannot open signaling (and get relay credentials) from a visitor's browser. A client that
 * sends no Origin (not a browser) is accepted: Origin protects browsers, nothing else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { envNumber, log, onTerminate } from '../shared/env.js';
import { createDemoServer, sendText } from '../shared/http.js';
import { type IceConfiguration, iceSourceFromEnv } from '../shared/ice.js';
import { APP_JS, INDEX_HTML } from './page.js';

interface User {
  readonly name: string;
  readonly ws: WebSocket;
  ice: IceConfiguration;
  refresh: NodeJS.Timeout | undefined;
  /** The other side of a call being set up or in progress. */
  peer: string | undefined;
}

/** Names registered at once, over all sockets. */
const MAX_USERS = 1000;
/** A WebSocket message, in bytes (an SDP offer is a few KiB). */
const MAX_MESSAGE_BYTES = 256 * 1024;
/** What may wait unsent to one page before it is dropped as too slow. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

const ice = iceSourceFromEnv();
const port = envNumber(DemoEnv.PORT, DEMO_DEFAULTS.webPort);
const allowedOrigins = new Set(
  (process.env[DemoEnv.ALLOWED_ORIGINS] ?? '')
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter((o) => o !== ''),
);
const users = new Map<string, User>();
/** Sockets with a registration under way: one each. */
const registering = new Set<WebSocket>();

const http = createDemoServer((req: IncomingMessage, res: ServerResponse) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/live' || path === '/ready') return sendText(res, 200, 'ok\n');
  if (path === '/app.js') return sendText(res, 200, APP_JS, 'text/javascript; charset=utf-8');
  if (path === '/' || path === '/index.html')
    return sendText(res, 200, INDEX_HTML, 'text/html; charset=utf-8');
  sendText(res, 404, 'not found\n');
});

/** Whether a page of `origin` may open signaling with a server reached as `host`. */
function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: ReadonlySet<string>,
): boolean {
  if (origin === undefined) return true;
  if (allowed.has(origin)) return true;
  try {
    const u = new URL(origin);
    return (
      (u.protocol === 'http:' || u.protocol === 'https:') &&
      host !== undefined &&
      u.host === host.toLowerCase()
    );
  } catch {
    return false;
  }
}

const wss = new WebSocketServer({
  server: http,
  path: '/ws',
  maxPayload: MAX_MESSAGE_BYTES,
  verifyClient: ({ origin, req }: { origin: string | undefined; req: IncomingMessage }) => {
    const ok = originAllowed(origin || undefined, req.headers.host, allowedOrigins);
    if (!ok) log(`refused a WebSocket from origin ${JSON.stringify(String(origin).slice(0, 100))}`);
    return ok;
  },
});
wss.on('error', (e) => log(`WebSocket server error: ${e.message}`));
wss.on('connection', (ws) => {
  let me: User | undefined;
  let alive = true;
  // A protocol violation (too large, bad UTF-8, unmasked, reserved bits or opcodes): ws closes the
  // socket and reports it here; without a listener it would end the process.
  ws.on('error', (e) => {
    log(`closing a WebSocket: ${e.message}`);
    ws.terminate();
  });
  ws.on('pong', () => {
    alive = true;
  });
  // A page that vanished without a close is found within two pings.
  const ping = setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, 30_000);
  ping.unref();
  ws.on('message', (data, isBinary) => {
    let m: unknown;
    try {
      m = isBinary ? undefined : JSON.parse(String(data));
    } catch {
      // answered below
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      return reply(ws, { id: 'error', message: 'a message is a JSON object' });
    const msg = m as Record<string, unknown>;
    handle(ws, msg, me, (u) => {
      me = u;
    }).catch((e: unknown) => log(`error handling a message: ${(e as Error)?.message}`));
  });
  ws.on('close', () => {
    clearInterval(ping);
    registering.delete(ws);
    if (me === undefined) return;
    hangUp(me);
    clearTimeout(me.refresh);
    if (users.get(me.name) === me) users.delete(me.name);
    log(`${me.name} left`);
  });
});

async function handle(
  ws: WebSocket,
  m: Record<string, unknown>,
  me: User | undefined,
  setMe: (u: User) => void,
): Promise<void> {
  const str = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : '');
  switch (m['id']) {
    case 'register': {
      const name = str('name').trim();
      if (me !== undefined || registering.has(ws))
        return reply(ws, { id: 'registerResponse', response: 'rejected: already registered' });
      if (users.size >= MAX_USERS)
        return reply(ws, { id: 'registerResponse', response: 'rejected: the server is full' });
      if (!/^[\w.@-]{1,64}$/.test(name))
        return reply(ws, {
          id: 'registerResponse',
          response: 'rejected: a name is 1-64 letters, digits or ._@-',
        });
      if (users.has(name))
        return reply(ws, { id: 'registerResponse', response: `rejected: ${name} is taken` });
      let config: IceConfiguration;
      registering.add(ws);
      try {
        config = await ice.fetch(name);
      } catch (e) {
        log(`cannot get an ICE configuration for ${name}: ${(e as Error).message}`);
        return reply(ws, {
          id: 'registerResponse',
          response: 'rejected: no ICE configuration (see the server log)',
        });
      } finally {
        registering.delete(ws);
      }
      if (ws.readyState !== ws.OPEN) return;
      if (users.has(name))
        return reply(ws, { id: 'registerResponse', response: `rejected: ${name} is taken` });
      if (users.size >= MAX_USERS)
        return reply(ws, { id: 'registerResponse', response: 'rejected: the server is full' });
      const user: User = { name, ws, ice: config, refresh: undefined, peer: undefined };
      users.set(name, user);
      setMe(user);
      scheduleRefresh(user);
      log(`${name} registered (${config.iceServers.flatMap((s) => s.urls).join(' ')})`);
      return reply(ws, { id: 'registerResponse', response: 'accepted', iceConfiguration: config });
    }
    case 'call': {
      if (me === undefined) return reply(ws, { id: 'callResponse', response: 'rejected: register first' });
      const callee = users.get(str('to'));
      if (callee === undefined || callee === me)
        return reply(ws, { id: 'callResponse', response: `rejected: ${str('to')} is not registered` });
      if (callee.peer !== undefined || me.peer !== undefined)
        return reply(ws, { id: 'callResponse', response: `rejected: ${callee.name} is busy` });
      me.peer = callee.name;
      callee.peer = me.name;
      log(`${me.name} calls ${callee.name}`);
      return reply(callee.ws, { id: 'incomingCall', from: me.name, sdpOffer: str('sdpOffer') });
    }
    case 'incomingCallResponse': {
      if (me === undefined) return;
      const caller = users.get(str('from'));
      if (caller === undefined || caller.peer !== me.name) return;
      if (m['callResponse'] === 'accept') {
        log(`${me.name} answers ${caller.name}`);
        return reply(caller.ws, { id: 'callResponse', response: 'accepted', sdpAnswer: str('sdpAnswer') });
      }
      caller.peer = undefined;
      me.peer = undefined;
      return reply(caller.ws, { id: 'callResponse', response: 'rejected: declined' });
    }
    case 'onIceCandidate': {
      const peer = me?.peer !== undefined ? users.get(me.peer) : undefined;
      if (peer !== undefined) reply(peer.ws, { id: 'iceCandidate', candidate: m['candidate'] });
      return;
    }
    case 'stop':
      if (me !== undefined) hangUp(me);
      return;
    default:
      return reply(ws, { id: 'error', message: `unknown message ${JSON.stringify(m['id'])}` });
  }
}

/** Ends `user`'s call, telling the other side. */
function hangUp(user: User): void {
  const peer = user.peer !== undefined ? users.get(user.peer) : undefined;
  user.peer = undefined;
  if (peer === undefined || peer.peer !== user.name) return;
  peer.peer = undefined;
  log(`${user.name} hangs up on ${peer.name}`);
  reply(peer.ws, { id: 'stopCommunication' });
}

/** Asks again before the credentials expire, and pushes the new configuration to the page. */
function scheduleRefresh(user: User): void {
  clearTimeout(user.refresh);
  user.refresh = setTimeout(async () => {
    if (users.get(user.name) !== user) return;
    try {
      user.ice = await ice.fetch(user.name);
      reply(user.ws, { id: 'iceConfiguration', iceConfiguration: user.ice });
      log(`refreshed the ICE configuration of ${user.name}`);
    } catch (e) {
      log(`cannot refresh the ICE configuration of ${user.name}: ${(e as Error).message}`);
    }
    scheduleRefresh(user);
  }, ice.refreshInMs(user.ice));
  user.refresh.unref();
}

function reply(ws: WebSocket, m: object): void {
  if (ws.readyState !== ws.OPEN) return;
  // a page that does not read its messages is dropped, not buffered for without end
  if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
    log('dropping a WebSocket that does not read its messages');
    ws.terminate();
    return;
  }
  ws.send(JSON.stringify(m));
}

http.listen(port, () => log(`direct-call server ready on :${port}`));
onTerminate(() => {
  wss.close();
  http.close();
});

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
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { envNumber, log, onTerminate } from '../shared/env.js';
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

const ice = iceSourceFromEnv();
const port = envNumber(DemoEnv.PORT, DEMO_DEFAULTS.webPort);
const users = new Map<string, User>();

const http = createServer((req: IncomingMessage, res: ServerResponse) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/live' || path === '/ready') return send(res, 200, 'text/plain', 'ok\n');
  if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', APP_JS);
  if (path === '/' || path === '/index.html') return send(res, 200, 'text/html; charset=utf-8', INDEX_HTML);
  send(res, 404, 'text/plain', 'not found\n');
});

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

const wss = new WebSocketServer({ server: http, path: '/ws', maxPayload: 256 * 1024 });
wss.on('connection', (ws) => {
  let me: User | undefined;
  ws.on('message', (data) => {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return reply(ws, { id: 'error', message: 'not JSON' });
    }
    void handle(ws, m, me, (u) => {
      me = u;
    }).catch((e: Error) => log(`error handling ${String(m['id'])}: ${e.message}`));
  });
  ws.on('close', () => {
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
      if (me !== undefined)
        return reply(ws, { id: 'registerResponse', response: 'rejected: already registered' });
      if (!/^[\w.@-]{1,64}$/.test(name))
        return reply(ws, {
          id: 'registerResponse',
          response: 'rejected: a name is 1-64 letters, digits or ._@-',
        });
      if (users.has(name))
        return reply(ws, { id: 'registerResponse', response: `rejected: ${name} is taken` });
      let config: IceConfiguration;
      try {
        config = await ice.fetch(name);
      } catch (e) {
        log(`cannot get an ICE configuration for ${name}: ${(e as Error).message}`);
        return reply(ws, {
          id: 'registerResponse',
          response: 'rejected: no ICE configuration (see the server log)',
        });
      }
      if (users.has(name) || ws.readyState !== ws.OPEN) return;
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
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
}

http.listen(port, () => log(`direct-call server ready on :${port}`));
onTerminate(() => {
  wss.close();
  http.close();
});

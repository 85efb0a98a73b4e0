import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { getIceConfig, getTurnCredentials, IceConfigError } from '../../../runtime/ice/client.js';
import { IceAuthServer } from '../../../runtime/ice/server.js';
import { freeTcpPort } from '../../helpers/net.js';
import { ephemeralGateway } from './fixtures.js';
import { expectRelayAccepts, expectRestCredential } from './rest-credential.js';

let http: Server | undefined;
let ice: IceAuthServer | undefined;

afterEach(async () => {
  http?.closeAllConnections();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
  http = undefined;
  await ice?.close();
  ice = undefined;
});

/**
 * The real auth service's request handler behind a plain HTTP server that counts the requests
 * (how many attempts the client made).
 */
async function counted(service: IceAuthServer) {
  return scripted(service.handle);
}

/**
 * A scripted HTTP stub, not the auth service: each request gets the next handler; the last one
 * repeats. For the answers the real service gives only under faults (503 then 200, silence,
 * malformed JSON).
 */
async function scripted(...handlers: ((req: IncomingMessage, res: ServerResponse) => void)[]) {
  const seen: string[] = [];
  http = createServer((req, res) => {
    seen.push(req.url ?? '');
    handlers[Math.min(seen.length - 1, handlers.length - 1)]!(req, res);
  });
  await new Promise<void>((r) => http!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, seen };
}

const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

async function failure(p: Promise<unknown>): Promise<IceConfigError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IceConfigError);
    return e as IceConfigError;
  }
  throw new Error('expected a failure');
}

describe('getIceConfig against the real auth service', () => {
  it('sends every option as a query parameter and returns the configuration', async () => {
    ice = new IceAuthServer();
    ice.setConfigs([ephemeralGateway()]);
    const a = await ice.listen(0, '127.0.0.1');
    const cfg = await getIceConfig({
      url: `http://127.0.0.1:${a.port}`,
      namespace: 'media',
      gateway: 'udp-gw',
      listener: 'udp',
      username: 'dave',
      ttl: 600,
      iceTransportPolicy: 'relay',
    });
    expect(cfg.iceTransportPolicy).toBe('relay');
    expect(cfg.iceServers).toHaveLength(1);
    expect(cfg.iceServers[0]!.urls).toEqual(['turn:1.2.3.4:3478?transport=udp']);
    expect(cfg.iceServers[0]!.username).toMatch(/^[0-9]+:dave$/);
    const exp = Number(cfg.iceServers[0]!.username.split(':')[0]);
    expect(Math.abs(exp - (Date.now() / 1000 + 600))).toBeLessThan(5);
    expectRestCredential(cfg.iceServers[0]!, { secret: 'my-shared-secret', user: 'dave', expiry: exp });
    expectRelayAccepts(cfg.iceServers[0]!, ephemeralGateway().auth, Date.now());

    const turn = await getTurnCredentials({ url: `http://127.0.0.1:${a.port}`, username: 'dave', ttl: 60 });
    expect(turn.ttl).toBe(60);
    expect(turn.uris).toHaveLength(2);
    const c = { username: turn.username, credential: turn.password };
    const turnExp = Number(turn.username.split(':')[0]);
    expect(Math.abs(turnExp - (Date.now() / 1000 + 60))).toBeLessThan(5);
    expectRestCredential(c, { secret: 'my-shared-secret', user: 'dave', expiry: turnExp });
    expectRelayAccepts(c, ephemeralGateway().auth, Date.now());
  });

  it('a 400 is final and carries the service message', async () => {
    ice = new IceAuthServer();
    ice.setConfigs([ephemeralGateway()]);
    const a = await ice.listen(0, '127.0.0.1');
    const e = await failure(getIceConfig({ url: `http://127.0.0.1:${a.port}`, ttl: 0, retries: 3 }));
    expect(e.status).toBe(400);
    expect(e.attempts).toBe(1);
    expect(e.message).toMatch(/400 parameter "ttl" is 0/);
  });

  it('sends the API key to a service that requires one, and never names it in an error', async () => {
    ice = new IceAuthServer({ apiKey: 'the-api-key-0123456789' });
    ice.setConfigs([ephemeralGateway()]);
    const a = await ice.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${a.port}`;
    const cfg = await getIceConfig({ url, key: 'the-api-key-0123456789', username: 'dave' });
    expect(cfg.iceServers).toHaveLength(1);
    const none = await failure(getIceConfig({ url, username: 'dave', retries: 0 }));
    expect(none.status).toBe(401);
    const wrong = await failure(getIceConfig({ url, key: 'a-wrong-key-0123456789', retries: 0 }));
    expect(wrong.status).toBe(401);
    expect(`${wrong.message} ${wrong.url}`).not.toContain('a-wrong-key');
    expect(wrong.message).toContain('key=redacted');
    // a network failure says the URL too: without the key
    const dead = await failure(
      getIceConfig({ url: `http://127.0.0.1:${await freeTcpPort()}`, key: 'secret-key-x', retries: 0 }),
    );
    expect(`${dead.message} ${dead.url}`).not.toContain('secret-key-x');
  });

  it('a 404 is final', async () => {
    const service = new IceAuthServer();
    service.setConfigs([ephemeralGateway()]);
    const s = await counted(service);
    const e = await failure(getIceConfig({ url: s.url, namespace: 'x', retries: 3, backoffMs: 1 }));
    expect(e.status).toBe(404);
    expect(e.message).toMatch(/no listener matches/);
    expect(s.seen).toHaveLength(1);
  });
});

describe('retries, backoff and timeouts', () => {
  it('retries 500 and 503, then succeeds (a scripted stub plays the service)', async () => {
    const ok = {
      iceServers: [{ urls: ['turn:1.1.1.1:3478?transport=udp'], username: 'u', credential: 'c' }],
      iceTransportPolicy: 'all',
    };
    const s = await scripted(
      json(500, { message: 'no STUNner config is loaded' }),
      json(503, {}),
      json(200, ok),
    );
    const cfg = await getIceConfig({ url: s.url, retries: 3, backoffMs: 10 });
    expect(cfg).toEqual(ok);
    expect(s.seen).toHaveLength(3);
    expect(s.seen[0]).toBe('/ice?service=turn');
  });

  it('gives up after the retries with the last status and message (the real service, no config loaded)', async () => {
    const s = await counted(new IceAuthServer());
    const e = await failure(getIceConfig({ url: s.url, retries: 2, backoffMs: 5 }));
    expect(e.status).toBe(500);
    expect(e.attempts).toBe(3);
    expect(e.message).toMatch(/500 no STUNner config is loaded/);
    expect(s.seen).toHaveLength(3);
  });

  it('times out a server that never answers, per attempt (a scripted stub)', async () => {
    const s = await scripted(() => {
      /* never answers */
    });
    const t0 = Date.now();
    const e = await failure(getIceConfig({ url: s.url, timeoutMs: 150, retries: 1, backoffMs: 10 }));
    expect(e.status).toBe(0);
    expect(e.message).toMatch(/timed out after 150 ms/);
    expect(e.attempts).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('retries a refused connection and reports it', async () => {
    const port = await freeTcpPort();
    const e = await failure(getIceConfig({ url: `http://127.0.0.1:${port}`, retries: 1, backoffMs: 5 }));
    expect(e.status).toBe(0);
    expect(e.attempts).toBe(2);
    expect(e.message).toMatch(/ECONNREFUSED/);
  });

  it('recovers when the real service comes up during the retries', async () => {
    const port = await freeTcpPort();
    setTimeout(() => {
      ice = new IceAuthServer();
      ice.setConfigs([ephemeralGateway()]);
      void ice.listen(port, '127.0.0.1');
    }, 150);
    const cfg = await getIceConfig({ url: `http://127.0.0.1:${port}`, retries: 6, backoffMs: 100 });
    expect(cfg.iceServers).toHaveLength(1);
  });

  it('refuses a malformed answer (a scripted stub) and bad options before sending', async () => {
    const s = await scripted(json(200, { iceServers: 'nope' }));
    expect((await failure(getIceConfig({ url: s.url }))).message).toBe('malformed /ice answer');
    expect((await failure(getIceConfig({ url: 'not a url' }))).message).toMatch(/not a valid URL/);
    expect((await failure(getIceConfig({ url: s.url, gateway: 'g' }))).message).toBe(
      'gateway needs namespace too',
    );
    expect(s.seen).toHaveLength(1);
  });
});

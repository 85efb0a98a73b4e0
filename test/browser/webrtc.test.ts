/**
 * A real browser (Debian chromium via playwright-core) calls itself through OUR runtime: two
 * RTCPeerConnections in one page, relay-only, over TURN-UDP and over TURN-TCP, with a fake camera.
 * The relay addresses both clients get are the gateway's own, so the config routes them to a
 * cluster holding that address (headless mode).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getIceConfig } from '../../runtime/ice/client.js';
import { ConfigFiles } from '../../runtime/ice/config-files.js';
import { IceAuthServer } from '../../runtime/ice/server.js';
import { freePort } from '../helpers/net.js';
import { type StunnerdProcess, startStunnerd } from '../helpers/stunnerd.js';
import { BrowserHarness, type CallResult } from './harness.js';

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
const SECRET = `secret-${Math.random().toString(36).slice(2)}`;

function headlessGateway(name: string, port: number, auth: object) {
  return {
    version: 'v1',
    admin: { name: `webrtc/${name}`, healthcheck_endpoint: '' },
    auth,
    listeners: [
      {
        name: `webrtc/${name}/udp`,
        protocol: 'TURN-UDP',
        address: '127.0.0.1',
        port,
        routes: ['webrtc/headless'],
      },
      {
        name: `webrtc/${name}/tcp`,
        protocol: 'TURN-TCP',
        address: '127.0.0.1',
        port,
        routes: ['webrtc/headless'],
      },
    ],
    // Headless: the peers are the other client's relay addresses, i.e. the gateway's own address.
    clusters: [{ name: 'webrtc/headless', type: 'STATIC', endpoints: ['127.0.0.1/32'] }],
  };
}

let harness: BrowserHarness;
let runtime: StunnerdProcess | undefined;
let port: number;

beforeAll(async () => {
  port = await freePort();
  runtime = await startStunnerd(
    headlessGateway('static-gw', port, {
      type: 'static',
      credentials: { username: 'alice', password: PASSWORD },
    }),
  );
  harness = new BrowserHarness();
  await harness.start();
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await runtime?.stop();
});

const relayOnly = (transport: 'udp' | 'tcp', credential = PASSWORD) => ({
  iceServers: [{ urls: [`turn:127.0.0.1:${port}?transport=${transport}`], username: 'alice', credential }],
  iceTransportPolicy: 'relay',
});

function expectRelayCall(r: CallResult, transport: 'udp' | 'tcp', video: boolean): void {
  const why = JSON.stringify(r);
  expect(r.connected, why).toBe(true);
  expect(r.message, why).toMatch(/^hello through the relay/);
  expect(r.gathered.length, why).toBeGreaterThan(0);
  expect(new Set(r.gathered), why).toEqual(new Set(['relay']));
  expect(r.localCandidateType, why).toBe('relay');
  expect(r.remoteCandidateType, why).toBe('relay');
  expect(r.relayProtocol, why).toBe(transport);
  if (video) expect(r.videoBytesReceived, why).toBeGreaterThan(0);
}

describe('chromium through our runtime, relay only', () => {
  it('TURN-UDP: data channel message, fake-camera video, relay/relay pair', async () => {
    const r = await harness.call({ rtc: relayOnly('udp'), video: true, timeoutMs: 20_000 });
    expectRelayCall(r, 'udp', true);
  });

  it('TURN-TCP: data channel message, fake-camera video, relay/relay pair', async () => {
    const r = await harness.call({ rtc: relayOnly('tcp'), video: true, timeoutMs: 20_000 });
    expectRelayCall(r, 'tcp', true);
  });

  it('a wrong password gets no relay candidate and no connection', async () => {
    const r = await harness.call({ rtc: relayOnly('udp', `${PASSWORD}x`), video: false, timeoutMs: 8_000 });
    expect(r.connected).toBe(false);
    expect(r.gathered).toEqual([]);
    expect(r.candidateErrors.join('\n')).toMatch(/^401 /m);
  });
});

describe('chromium with exactly the /ice answer as its configuration', () => {
  let dir: string;
  let eph: StunnerdProcess | undefined;
  let files: ConfigFiles;
  let server: IceAuthServer;
  let url: string;
  let ephPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ice-browser-'));
    ephPort = await freePort();
    const config = headlessGateway('ephemeral-gw', ephPort, {
      type: 'ephemeral',
      credentials: { secret: SECRET },
    });
    await writeFile(join(dir, 'stunnerd.conf'), JSON.stringify(config));
    eph = await startStunnerd(config);
    server = new IceAuthServer();
    files = new ConfigFiles({ paths: [dir], onChange: (c) => server.setConfigs(c.values()) });
    await files.start();
    url = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
  }, 60_000);

  afterAll(async () => {
    files?.stop();
    await server?.close();
    await eph?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('connects relay-only with the answer passed verbatim', async () => {
    const res = await fetch(
      `${url}/ice?service=turn&namespace=webrtc&gateway=ephemeral-gw&username=carol&iceTransportPolicy=relay`,
    );
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { iceServers: { urls: string[] }[]; iceTransportPolicy: string };
    expect(answer.iceTransportPolicy).toBe('relay');
    expect(answer.iceServers[0]!.urls).toEqual([
      `turn:127.0.0.1:${ephPort}?transport=udp`,
      `turn:127.0.0.1:${ephPort}?transport=tcp`,
    ]);
    const r = await harness.call({ rtc: answer, video: true, timeoutMs: 20_000 });
    const why = JSON.stringify(r);
    expect(r.connected, why).toBe(true);
    expect(r.localCandidateType, why).toBe('relay');
    expect(r.remoteCandidateType, why).toBe('relay');
    expect(r.videoBytesReceived, why).toBeGreaterThan(0);
  });

  it('the typed client answer works the same, and a tampered credential does not', async () => {
    const ice = await getIceConfig({
      url,
      namespace: 'webrtc',
      gateway: 'ephemeral-gw',
      listener: 'udp',
      iceTransportPolicy: 'relay',
    });
    const ok = await harness.call({ rtc: ice, video: false, timeoutMs: 20_000 });
    expect(ok.connected, JSON.stringify(ok)).toBe(true);
    const bad = {
      ...ice,
      // a different first character (a credential that already began with 'x' was not tampered: 1 run in 64)
      iceServers: ice.iceServers.map((s) => ({
        ...s,
        credential: `${s.credential.startsWith('x') ? 'y' : 'x'}${s.credential.slice(1)}`,
      })),
    };
    const r = await harness.call({ rtc: bad, video: false, timeoutMs: 8_000 });
    expect(r.connected).toBe(false);
    expect(r.candidateErrors.join('\n')).toMatch(/^401 /m);
  });
});

describe('chromium when the runtime is down', () => {
  it('cannot connect once the runtime is stopped', async () => {
    await runtime!.stop();
    runtime = undefined;
    const r = await harness.call({ rtc: relayOnly('udp'), video: false, timeoutMs: 5_000 });
    expect(r.connected).toBe(false);
    expect(r.gathered).toEqual([]);
  });
});

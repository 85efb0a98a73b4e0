/**
 * TURN-TLS from a real browser: the /ice answer carries a `turns:` URI for a TLS listener of OUR
 * runtime, and chromium, given exactly that answer, connects relay-only over TLS. The certificate
 * is a throwaway self-signed one made for this test, so this browser alone runs with
 * --ignore-certificate-errors.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigFiles } from '../../runtime/ice/config-files.js';
import { IceAuthServer } from '../../runtime/ice/server.js';
import { freePort } from '../helpers/net.js';
import { type StunnerdProcess, startStunnerd } from '../helpers/stunnerd.js';
import { BrowserHarness } from './harness.js';

let dir: string;
let runtime: StunnerdProcess | undefined;
let harness: BrowserHarness;
let files: ConfigFiles;
let server: IceAuthServer;
let url: string;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'browser-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat(
      ['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'],
      ['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ),
    { stdio: 'ignore' },
  );
  port = await freePort();
  const config = {
    version: 'v1',
    admin: { name: 'webrtc/tls-gw', healthcheck_endpoint: '' },
    auth: { type: 'ephemeral', credentials: { secret: `secret-${Math.random().toString(36).slice(2)}` } },
    listeners: [
      {
        name: 'webrtc/tls-gw/tls',
        protocol: 'TURN-TLS',
        address: '127.0.0.1',
        port,
        cert: (await readFile(join(dir, 'cert.pem'))).toString('base64'),
        key: (await readFile(join(dir, 'key.pem'))).toString('base64'),
        routes: ['webrtc/headless'],
      },
    ],
    clusters: [{ name: 'webrtc/headless', type: 'STATIC', endpoints: ['127.0.0.1/32'] }],
  };
  await writeFile(join(dir, 'stunnerd.conf'), JSON.stringify(config));
  runtime = await startStunnerd(config);
  server = new IceAuthServer();
  files = new ConfigFiles({
    paths: [join(dir, 'stunnerd.conf')],
    onChange: (c) => server.setConfigs(c.values()),
  });
  await files.start();
  url = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
  harness = new BrowserHarness();
  await harness.start(['--ignore-certificate-errors']);
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  files?.stop();
  await server?.close();
  await runtime?.stop('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('chromium over TURN-TLS with the /ice answer', () => {
  it('connects relay-only over TLS: data channel, video, relay/relay', async () => {
    const res = await fetch(`${url}/ice?service=turn&username=tls-user&iceTransportPolicy=relay`);
    const answer = (await res.json()) as { iceServers: { urls: string[] }[] };
    expect(answer.iceServers[0]!.urls).toEqual([`turns:127.0.0.1:${port}?transport=tcp`]);
    const r = await harness.call({ rtc: answer, video: true, timeoutMs: 20_000 });
    const why = JSON.stringify(r);
    expect(r.connected, why).toBe(true);
    expect(r.localCandidateType, why).toBe('relay');
    expect(r.remoteCandidateType, why).toBe('relay');
    expect(r.relayProtocol, why).toBe('tls');
    expect(r.videoBytesReceived, why).toBeGreaterThan(0);
  });

  it('a plain turn: URI to the TLS port does not work (the answer must say turns:)', async () => {
    const res = await fetch(`${url}/ice?service=turn&username=tls-user&iceTransportPolicy=relay`);
    const answer = (await res.json()) as { iceServers: { urls: string[] }[] };
    const plain = {
      ...answer,
      iceServers: answer.iceServers.map((s) => ({
        ...s,
        urls: s.urls.map((u) => u.replace(/^turns:/, 'turn:')),
      })),
    };
    const r = await harness.call({ rtc: plain, video: false, timeoutMs: 6_000 });
    expect(r.connected).toBe(false);
  });
});

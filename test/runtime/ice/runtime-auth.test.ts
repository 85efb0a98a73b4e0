/**
 * Credentials and URIs from the auth service work against OUR runtime, checked with coturn's
 * independent TURN client (turnutils_uclient, Send/Data mode) relaying to turnutils_peer.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getIceConfig, getTurnCredentials } from '../../../runtime/ice/client.js';
import { ConfigFiles } from '../../../runtime/ice/config-files.js';
import { IceAuthServer } from '../../../runtime/ice/server.js';
import { freePort, freeUdpPort } from '../../helpers/net.js';
import { type StunnerdProcess, startStunnerd } from '../../helpers/stunnerd.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { allocateAt, expectMintedNow } from './rest-credential.js';
import { startPeer, uclient } from './uclient.js';

function gatewayConfig(name: string, port: number, auth: object) {
  return {
    version: 'v1',
    admin: { name: `media/${name}`, healthcheck_endpoint: '' },
    auth,
    listeners: [
      { name: `media/${name}/udp`, protocol: 'TURN-UDP', address: '127.0.0.1', port, routes: ['media/peer'] },
      { name: `media/${name}/tcp`, protocol: 'TURN-TCP', address: '127.0.0.1', port, routes: ['media/peer'] },
    ],
    clusters: [{ name: 'media/peer', type: 'STATIC', endpoints: ['127.0.0.1/32'] }],
  };
}

const SECRET = `secret-${Math.random().toString(36).slice(2)}`;
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;

let dir: string;
let ephemeral: StunnerdProcess | undefined;
let statik: StunnerdProcess | undefined;
let tlsGateway: StunnerdProcess | undefined;
let peer: { stop(): void };
let peerPort: number;
let files: ConfigFiles;
let server: IceAuthServer;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ice-auth-'));
  const ephPort = await freePort();
  const staticPort = await freePort();
  const eph = gatewayConfig('ephemeral-gw', ephPort, { type: 'ephemeral', credentials: { secret: SECRET } });
  const sta = gatewayConfig('static-gw', staticPort, {
    type: 'static',
    credentials: { username: 'alice', password: PASSWORD },
  });
  // The same config text feeds the runtime and the auth service, as the ConfigMap does in a cluster.
  await writeFile(join(dir, 'ephemeral-gw.json'), JSON.stringify(eph));
  await writeFile(join(dir, 'static-gw.json'), JSON.stringify(sta));
  // A TURN-TLS gateway with a throwaway self-signed certificate.
  const { cert, key } = await selfSignedCert();
  const tlsPort = await freePort();
  const tls = {
    version: 'v1',
    admin: { name: 'media/tls-gw', healthcheck_endpoint: '' },
    auth: { type: 'ephemeral', credentials: { secret: SECRET } },
    listeners: [
      {
        name: 'media/tls-gw/tls',
        protocol: 'TURN-TLS',
        address: '127.0.0.1',
        port: tlsPort,
        cert,
        key,
        routes: ['media/peer'],
      },
    ],
    clusters: [{ name: 'media/peer', type: 'STATIC', endpoints: ['127.0.0.1/32'] }],
  };
  await writeFile(join(dir, 'tls-gw.json'), JSON.stringify(tls));
  [tlsGateway, ephemeral, statik] = await Promise.all([
    startStunnerd(tls),
    startStunnerd(eph),
    startStunnerd(sta),
  ]);
  peerPort = await freeUdpPort();
  peer = await startPeer(peerPort);
  server = new IceAuthServer();
  files = new ConfigFiles({ paths: [dir], onChange: (c) => server.setConfigs(c.values()) });
  await files.start();
  url = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  files?.stop();
  await server?.close();
  peer?.stop();
  // SIGKILL: nothing to drain gracefully here.
  await Promise.all([ephemeral?.stop('SIGKILL'), statik?.stop('SIGKILL'), tlsGateway?.stop('SIGKILL')]);
  await rm(dir, { recursive: true, force: true });
});

function parseUri(uri: string): { host: string; port: number; tcp: boolean; tls: boolean } {
  const m = /^(turns?):([0-9.]+):(\d+)\?transport=(udp|tcp)$/.exec(uri);
  if (!m) throw new Error(`unexpected URI ${uri}`);
  return { host: m[2]!, port: Number(m[3]), tcp: m[4] === 'tcp', tls: m[1] === 'turns' };
}

async function relayWith(uri: string, username: string, password: string) {
  return uclient({ ...parseUri(uri), username, password, peerPort });
}

describe('/ice credentials against the runtime', () => {
  it('ephemeral: minted credentials relay over every returned URI (UDP and TCP)', async () => {
    const ice = await getIceConfig({
      url,
      namespace: 'media',
      gateway: 'ephemeral-gw',
      username: 'alice',
      ttl: 600,
    });
    expect(ice.iceServers).toHaveLength(1);
    const s = ice.iceServers[0]!;
    expectMintedNow(s, { secret: SECRET, user: 'alice', ttl: 600 });
    expect(s.urls.map((u) => parseUri(u).tcp)).toEqual([false, true]);
    // Our hand-encoded Allocate, signed with RFC 8489's MD5 key, as well as coturn's client.
    const udp = parseUri(s.urls[0]!);
    expect(await allocateAt(udp.host, udp.port, { username: s.username, password: s.credential })).toBe(200);
    for (const uri of s.urls) {
      const r = await relayWith(uri, s.username, s.credential);
      expect(r.code, r.output).toBe(0);
      expect(r.lost, r.output).toBe(0);
      const m = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\n/.exec(r.output);
      expect(Number(m?.[1]), r.output).toBeGreaterThanOrEqual(10);
      expect(m?.[2], r.output).toBe(m?.[1]);
    }
  });

  it('static: passed-through credentials relay', async () => {
    const ice = await getIceConfig({ url, namespace: 'media', gateway: 'static-gw', listener: 'udp' });
    const s = ice.iceServers[0]!;
    expect(s).toMatchObject({ username: 'alice', credential: PASSWORD });
    const udp = parseUri(s.urls[0]!);
    expect(await allocateAt(udp.host, udp.port, { username: s.username, password: s.credential })).toBe(200);
    const r = await relayWith(s.urls[0]!, s.username, s.credential);
    expect(r.code, r.output).toBe(0);
    expect(r.lost, r.output).toBe(0);
  });

  it('TLS: a turns: URI, and the minted credentials relay over TLS', async () => {
    const ice = await getIceConfig({ url, namespace: 'media', gateway: 'tls-gw', username: 'tina' });
    const s = ice.iceServers[0]!;
    expect(s.urls).toEqual([expect.stringMatching(/^turns:127\.0\.0\.1:\d+\?transport=tcp$/)]);
    expectMintedNow(s, { secret: SECRET, user: 'tina', ttl: 86400 });
    const r = await relayWith(s.urls[0]!, s.username, s.credential);
    expect(r.code, r.output).toBe(0);
    expect(r.lost, r.output).toBe(0);
    const m = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\n/.exec(r.output);
    expect(Number(m?.[1]), r.output).toBeGreaterThanOrEqual(10);
    expect(m?.[2], r.output).toBe(m?.[1]);
  });

  it('TURN REST API answer relays too', async () => {
    const t = await getTurnCredentials({ url, namespace: 'media', gateway: 'ephemeral-gw', username: 'bob' });
    expect(t.ttl).toBe(86400);
    expectMintedNow(
      { username: t.username, credential: t.password },
      { secret: SECRET, user: 'bob', ttl: 86400 },
    );
    const r = await relayWith(t.uris[0]!, t.username, t.password);
    expect(r.code, r.output).toBe(0);
    expect(r.lost, r.output).toBe(0);
  });

  it('a wrong password is refused', async () => {
    const ice = await getIceConfig({ url, namespace: 'media', gateway: 'ephemeral-gw', username: 'mallory' });
    const s = ice.iceServers[0]!;
    expectMintedNow(s, { secret: SECRET, user: 'mallory', ttl: 86400 });
    const r = await relayWith(s.urls[0]!, s.username, `${s.credential.slice(0, -2)}AA`);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/Cannot complete Allocation/);
    const udp = parseUri(s.urls[0]!);
    const wrong = { username: s.username, password: `${s.credential.slice(0, -2)}AA` };
    expect(await allocateAt(udp.host, udp.port, wrong)).toBe(401);
  });

  it('expired credentials are refused', async () => {
    const ice = await getIceConfig({
      url,
      namespace: 'media',
      gateway: 'ephemeral-gw',
      username: 'late',
      ttl: 1,
    });
    const s = ice.iceServers[0]!;
    const expiry = expectMintedNow(s, { secret: SECRET, user: 'late', ttl: 1 });
    // Wait until the expiry second has fully passed.
    await new Promise((r) => setTimeout(r, Math.max(0, (expiry + 1) * 1000 - Date.now() + 50)));
    const r = await relayWith(s.urls[0]!, s.username, s.credential);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/Cannot complete Allocation/);
  });

  it('fails once the runtime is stopped', async () => {
    const ice = await getIceConfig({ url, namespace: 'media', gateway: 'static-gw', listener: 'tcp' });
    await statik!.stop();
    statik = undefined;
    const s = ice.iceServers[0]!;
    const r = await relayWith(s.urls[0]!, s.username, s.credential);
    expect(r.code).not.toBe(0);
    expect(r.lost).toBeUndefined();
  });
});

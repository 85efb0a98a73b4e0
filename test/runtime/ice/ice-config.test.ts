import { describe, expect, it } from 'vitest';
import { buildIceServers } from '../../../runtime/ice/ice-config.js';
import { PublicAddressBook } from '../../../runtime/ice/public-address.js';
import { config, ephemeralGateway, staticTlsGateway } from './fixtures.js';
import { expectRelayAccepts, expectRestCredential } from './rest-credential.js';

const NOW = 1_800_000_000;
interface Filter {
  username: string;
  ttl: number;
  namespace: string | undefined;
  gateway: string | undefined;
  listener: string | undefined;
}
const all: Filter = {
  username: '',
  ttl: 86400,
  namespace: undefined,
  gateway: undefined,
  listener: undefined,
};

describe('ICE servers from configs', () => {
  it('one entry per gateway, with the URIs of its listeners', () => {
    const book = new PublicAddressBook();
    book.set('games/tls-gw', 'turn.example.com');
    const r = buildIceServers([ephemeralGateway(), staticTlsGateway()], book, all, NOW);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.servers).toHaveLength(2);
    expect(r.servers[0]!.urls).toEqual([
      'turn:1.2.3.4:3478?transport=udp',
      'turn:1.2.3.4:3478?transport=tcp',
    ]);
    expect(r.servers[1]!.urls).toEqual([
      'turns:turn.example.com:443?transport=tcp',
      'turns:turn.example.com:443?transport=udp',
    ]);
  });

  it('mints ephemeral credentials: <now+ttl>:<userid>, base64(HMAC-SHA1(secret, username))', () => {
    const r = buildIceServers(
      [ephemeralGateway()],
      new PublicAddressBook(),
      { ...all, username: 'alice', ttl: 60 },
      NOW,
    );
    if (!r.ok) throw new Error(r.message);
    const s = r.servers[0]!;
    expectRestCredential(s, { secret: 'my-shared-secret', user: 'alice', expiry: NOW + 60 });
    expectRelayAccepts(s, ephemeralGateway().auth, NOW * 1000);
  });

  it('passes static credentials through', () => {
    const book = new PublicAddressBook();
    book.set('games/tls-gw', '5.6.7.8');
    const r = buildIceServers([staticTlsGateway()], book, { ...all, username: 'ignored' }, NOW);
    if (!r.ok) throw new Error(r.message);
    expect(r.servers[0]).toMatchObject({ username: 'user1', credential: 'pass$1' });
    expectRelayAccepts(r.servers[0]!, staticTlsGateway().auth, NOW * 1000);
  });

  it('filters by namespace, gateway and listener', () => {
    const book = new PublicAddressBook();
    book.set('games/tls-gw', '5.6.7.8');
    const configs = [ephemeralGateway(), staticTlsGateway()];
    const urls = (f: Partial<typeof all>) => {
      const r = buildIceServers(configs, book, { ...all, ...f }, NOW);
      return r.ok ? r.servers.map((s) => s.urls) : r.status;
    };
    expect(urls({ namespace: 'games' })).toEqual([
      ['turns:5.6.7.8:443?transport=tcp', 'turns:5.6.7.8:443?transport=udp'],
    ]);
    expect(urls({ namespace: 'media', gateway: 'udp-gw' })).toHaveLength(1);
    expect(urls({ namespace: 'media', gateway: 'udp-gw', listener: 'tcp' })).toEqual([
      ['turn:1.2.3.4:3478?transport=tcp'],
    ]);
    expect(urls({ namespace: 'nope' })).toBe(404);
    expect(urls({ namespace: 'media', gateway: 'tls-gw' })).toBe(404);
    expect(urls({ namespace: 'media', gateway: 'udp-gw', listener: 'tls' })).toBe(404);
  });

  it('says why nothing matched', () => {
    const r = buildIceServers(
      [ephemeralGateway()],
      new PublicAddressBook(),
      { ...all, namespace: 'x', gateway: 'y' },
      NOW,
    );
    expect(r).toEqual({ ok: false, status: 404, message: 'no listener matches gateway "x/y"' });
  });

  it('a static public_address wins over the watched one; watched NodePorts replace listener ports', () => {
    const book = new PublicAddressBook();
    book.set('media/udp-gw', '9.9.9.9');
    book.set('games/tls-gw', '10.1.1.1', new Map([['tls', 31443]]));
    const r = buildIceServers([ephemeralGateway(), staticTlsGateway()], book, all, NOW);
    if (!r.ok) throw new Error(r.message);
    expect(r.servers[0]!.urls[0]).toBe('turn:1.2.3.4:3478?transport=udp');
    expect(r.servers[1]!.urls).toEqual([
      'turns:10.1.1.1:31443?transport=tcp',
      'turns:10.1.1.1:443?transport=udp',
    ]);
  });

  // As the constructs render a NodePort gateway: public_port is the Service port, all a synth knows;
  // the nodePort is allocated by the apiserver (test/cluster/ice-auth-rbac.test.ts on a real one).
  it("a watched node address comes with the watched NodePort, not the config's public_port", () => {
    const nodePortGw = config({
      version: 'v1',
      admin: { name: 'media/np-gw' },
      auth: { type: 'static', credentials: { username: 'u', password: 'p' } },
      listeners: [
        {
          name: 'media/np-gw/udp',
          protocol: 'TURN-UDP',
          address: '$STUNNER_ADDR',
          port: 3478,
          public_port: 3478,
        },
      ],
    });
    const book = new PublicAddressBook();
    book.set('media/np-gw', '203.0.113.10', new Map([['udp', 31478]]));
    const r = buildIceServers([nodePortGw], book, all, NOW);
    expect(r.ok && r.servers[0]!.urls).toEqual(['turn:203.0.113.10:31478?transport=udp']);
    // a static public_address keeps its public_port
    const pinned = config({
      ...nodePortGw,
      listeners: [{ ...nodePortGw.listeners[0]!, public_address: '198.51.100.9' }],
    });
    const r2 = buildIceServers([pinned], book, all, NOW);
    expect(r2.ok && r2.servers[0]!.urls).toEqual(['turn:198.51.100.9:3478?transport=udp']);
  });

  it('falls back to the listener address; an unspecified one yields a 404 that says why', () => {
    const local = config({
      version: 'v1',
      admin: { name: 'dev/local' },
      auth: { credentials: { username: 'u', password: 'p' } },
      listeners: [{ name: 'udp', address: '127.0.0.1', port: 3478, public_port: 30478 }],
    });
    const r = buildIceServers(
      [local],
      new PublicAddressBook(),
      { ...all, namespace: 'dev', gateway: 'local' },
      NOW,
    );
    expect(r.ok && r.servers[0]!.urls).toEqual(['turn:127.0.0.1:30478?transport=udp']);

    const r2 = buildIceServers([staticTlsGateway()], new PublicAddressBook(), all, NOW);
    expect(r2.ok).toBe(false);
    expect(!r2.ok && r2.status).toBe(404);
    expect(!r2.ok && r2.message).toMatch(/no public address is known yet/);
  });

  it('a gateway without usable credentials is a 500 with the gateway named', () => {
    const broken = ephemeralGateway();
    const noSecret = { ...broken, auth: { ...broken.auth, credentials: {} } };
    const r = buildIceServers([noSecret], new PublicAddressBook(), all, NOW);
    expect(r).toEqual({
      ok: false,
      status: 500,
      message: 'no usable credentials: media/udp-gw: ephemeral auth without a shared secret',
    });
  });
});

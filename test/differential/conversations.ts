/**
 * The scripted TURN conversations of the protocol-equivalence test. Each runs against one server
 * (STUNner's stunnerd or ours) through ScriptClient and returns the steps it recorded; the test
 * runs every conversation against both and compares the records step by step.
 */
import { Attr, Method, type StunMessageBuilder, type TransportAddress } from '../../runtime/stun/index.js';
import { type Credentials, type Endpoint, ScriptClient, type Step } from './turn-script.js';

/** Where one server listens (the same config, its own ports). */
export interface Target {
  readonly udp: Endpoint;
  readonly tcp: Endpoint;
  readonly tls: Endpoint;
  readonly udp6: Endpoint;
  /** The UDP listener of the second server of that implementation, the one with user_quota: 2. */
  readonly quota: Endpoint;
}

/** The loopback peers, shared by both servers. */
export interface Peers {
  /** UDP echo on 127.0.0.1, in cluster `echo` (127.0.0.1/32). */
  readonly echo: TransportAddress;
  /** UDP echo on 127.0.0.2, inside the port range of cluster `ranged`. */
  readonly inRange: TransportAddress;
  /** UDP echo on 127.0.0.2, outside that port range. */
  readonly outOfRange: TransportAddress;
  /** UDP echo on ::1, in cluster `echo6` (::1/128). */
  readonly echo6: TransportAddress;
}

export const CREDS: Credentials = { username: 'user', password: 'pass' };
/** An address no route reaches (TEST-NET-3). */
const OUTSIDE: TransportAddress = { family: 4, address: '203.0.113.7', port: 5000 };
const udpTransport = (b: StunMessageBuilder) => b.addRequestedTransport(17);
const peer = (p: TransportAddress) => (b: StunMessageBuilder) => b.addXorAddress(Attr.XOR_PEER_ADDRESS, p);
const payload = (s: string) => Buffer.from(s);

export interface Conversation {
  readonly name: string;
  run(t: Target, peers: Peers): Promise<Step[]>;
}

/** Opens a client on an endpoint, runs the body, closes it, returns the steps. */
async function withClient(
  ep: Endpoint,
  body: (c: ScriptClient) => Promise<void>,
  waitMs?: number,
): Promise<Step[]> {
  const c = await ScriptClient.open(ep, CREDS, waitMs);
  try {
    await body(c);
  } finally {
    c.close();
  }
  return c.steps;
}

export const CONVERSATIONS: readonly Conversation[] = [
  {
    name: 'binding',
    run: (t) =>
      withClient(t.udp, async (c) => {
        await c.req('Binding (no credentials)', Method.BINDING, () => {}, 'none');
      }),
  },
  {
    name: 'allocate',
    run: (t) =>
      withClient(t.udp, async (c) => {
        await c.allocate();
        await c.req('Allocate again on the same 5-tuple', Method.ALLOCATE, udpTransport);
      }),
  },
  {
    name: 'wrong credentials',
    run: (t) =>
      withClient(t.udp, async (c) => {
        await c.req('Allocate (no credentials)', Method.ALLOCATE, udpTransport, 'none');
        await c.req('Allocate, wrong password', Method.ALLOCATE, udpTransport, { password: 'wrong' });
        await c.req('Allocate, unknown user', Method.ALLOCATE, udpTransport, { username: 'nobody' });
        await c.req('Allocate, wrong realm', Method.ALLOCATE, udpTransport, { realm: 'wrong.example' });
        await c.req('Allocate, corrupted MESSAGE-INTEGRITY', Method.ALLOCATE, udpTransport, {
          badHmac: true,
        });
        await c.req('Allocate, credentials and no nonce', Method.ALLOCATE, udpTransport, { nonce: '' });
      }),
  },
  {
    name: 'stale nonce',
    run: (t) =>
      withClient(t.udp, async (c) => {
        await c.req('Allocate (no credentials)', Method.ALLOCATE, udpTransport, 'none');
        await c.req('Allocate, a nonce the server never gave', Method.ALLOCATE, udpTransport, {
          nonce: 'obsolete-nonce-00112233445566778899',
        });
        await c.req('Allocate with the nonce of that answer', Method.ALLOCATE, udpTransport);
      }),
  },
  ...(
    [
      ['without REQUESTED-TRANSPORT', () => {}],
      ['for TCP (REQUESTED-TRANSPORT 6)', (b) => b.addRequestedTransport(6)],
      ['for IPv6 relaying on an IPv4 listener', (b) => b.addRequestedTransport(17).addAddressFamily(6)],
      [
        'with an unknown comprehension-required attribute',
        (b) => b.addRequestedTransport(17).addBuffer(0x0042, Buffer.from([1, 2, 3, 4])),
      ],
      ['with DONT-FRAGMENT', (b) => b.addRequestedTransport(17).addFlag(Attr.DONT_FRAGMENT)],
      ['with EVEN-PORT (reserve)', (b) => b.addRequestedTransport(17).addEvenPort(true)],
    ] as [string, (b: StunMessageBuilder) => void][]
  ).map(
    ([what, extra]): Conversation => ({
      name: `allocate ${what}`,
      run: (t) => withClient(t.udp, (c) => c.allocate('Allocate', extra)),
    }),
  ),
  {
    name: 'lifetimes',
    run: (t) =>
      withClient(t.udp, async (c) => {
        await c.req('Refresh before any allocation (no credentials)', Method.REFRESH, () => {}, 'none');
        await c.req('Refresh before any allocation', Method.REFRESH, () => {});
        await c.req('Allocate, LIFETIME 30', Method.ALLOCATE, (b) =>
          b.addRequestedTransport(17).addUint32(Attr.LIFETIME, 30),
        );
        await c.req('Refresh, no LIFETIME', Method.REFRESH, () => {});
        await c.req('Refresh, LIFETIME 1200', Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, 1200));
        await c.req('Refresh, LIFETIME 7200', Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, 7200));
        await c.req('Refresh, LIFETIME 0', Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, 0));
        await c.req('Refresh after deletion', Method.REFRESH, () => {});
        await c.req('CreatePermission after deletion', Method.CREATE_PERMISSION, peer(OUTSIDE));
      }),
  },
  {
    name: 'allocate lifetime bounds',
    run: (t) =>
      withClient(t.udp, async (c) => {
        await c.req('Allocate (no credentials)', Method.ALLOCATE, udpTransport, 'none');
        await c.req('Allocate, LIFETIME 86400', Method.ALLOCATE, (b) =>
          b.addRequestedTransport(17).addUint32(Attr.LIFETIME, 86400),
        );
        await c.req('Refresh, LIFETIME 0', Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, 0));
      }),
  },
  {
    name: 'permissions',
    run: (t, p) =>
      withClient(t.udp, async (c) => {
        await c.req('CreatePermission before any allocation', Method.CREATE_PERMISSION, peer(p.echo), 'none');
        await c.allocate();
        await c.req('CreatePermission, peer inside the routes', Method.CREATE_PERMISSION, peer(p.echo));
        c.sendIndication(p.echo, payload('send-indication'));
        await c.expectEcho('Send indication to that peer, echo back', payload('send-indication'));
        await c.req('CreatePermission, peer outside the routes', Method.CREATE_PERMISSION, peer(OUTSIDE));
        await c.req('CreatePermission, one peer inside and one outside', Method.CREATE_PERMISSION, (b) =>
          b.addXorAddress(Attr.XOR_PEER_ADDRESS, p.echo).addXorAddress(Attr.XOR_PEER_ADDRESS, OUTSIDE),
        );
        await c.req('CreatePermission without XOR-PEER-ADDRESS', Method.CREATE_PERMISSION, () => {});
        await c.req(
          'CreatePermission, IPv6 peer on an IPv4 allocation',
          Method.CREATE_PERMISSION,
          peer(p.echo6),
        );
        c.sendIndication(OUTSIDE, payload('to-nowhere'));
        await c.req('Binding after a Send to a peer without permission', Method.BINDING, () => {}, 'none');
      }),
  },
  {
    name: 'send without permission',
    run: (t, p) =>
      withClient(t.udp, async (c) => {
        await c.allocate();
        c.sendIndication(p.echo, payload('no-permission'));
        await c.expectEcho('Send indication without a permission', payload('no-permission'), 600);
      }),
  },
  {
    name: 'channels',
    run: (t, p) =>
      withClient(t.udp, async (c) => {
        await c.allocate();
        const bind = (ch: number, to: TransportAddress) => (b: StunMessageBuilder) =>
          b.addChannelNumber(ch).addXorAddress(Attr.XOR_PEER_ADDRESS, to);
        await c.req('ChannelBind 0x4000, peer inside the routes', Method.CHANNEL_BIND, bind(0x4000, p.echo));
        c.channelData(0x4000, payload('channel-data'));
        await c.expectEcho('ChannelData to that peer, echo back', payload('channel-data'));
        await c.req('ChannelBind 0x4000 again (refresh)', Method.CHANNEL_BIND, bind(0x4000, p.echo));
        await c.req(
          'ChannelBind 0x4001, peer outside the routes',
          Method.CHANNEL_BIND,
          bind(0x4001, OUTSIDE),
        );
        await c.req('ChannelBind 0x3fff (below the range)', Method.CHANNEL_BIND, bind(0x3fff, p.echo));
        await c.req('ChannelBind 0x8000 (above the range)', Method.CHANNEL_BIND, bind(0x8000, p.echo));
        await c.req('ChannelBind 0x4000 to another peer', Method.CHANNEL_BIND, bind(0x4000, p.inRange));
        await c.req('ChannelBind 0x4002 to the peer of 0x4000', Method.CHANNEL_BIND, bind(0x4002, p.echo));
        await c.req('ChannelBind without CHANNEL-NUMBER', Method.CHANNEL_BIND, peer(p.echo));
        await c.req('ChannelBind without XOR-PEER-ADDRESS', Method.CHANNEL_BIND, (b) =>
          b.addChannelNumber(0x4003),
        );
        c.channelData(0x4005, payload('unbound-channel'));
        await c.expectEcho('ChannelData on an unbound channel', payload('unbound-channel'), 600);
      }),
  },
  {
    name: 'port ranges',
    run: (t, p) =>
      withClient(t.udp, async (c) => {
        await c.allocate();
        await c.req('CreatePermission, host of a ranged cluster', Method.CREATE_PERMISSION, peer(p.inRange));
        c.sendIndication(p.inRange, payload('in-range'));
        await c.expectEcho('Send to a port inside the range', payload('in-range'));
        c.sendIndication(p.outOfRange, payload('out-of-range'));
        await c.expectEcho('Send to a port outside the range', payload('out-of-range'), 600);
        const bind = (ch: number, to: TransportAddress) => (b: StunMessageBuilder) =>
          b.addChannelNumber(ch).addXorAddress(Attr.XOR_PEER_ADDRESS, to);
        await c.req('ChannelBind, port inside the range', Method.CHANNEL_BIND, bind(0x4000, p.inRange));
        await c.req('ChannelBind, port outside the range', Method.CHANNEL_BIND, bind(0x4001, p.outOfRange));
        c.channelData(0x4001, payload('channel-out-of-range'));
        await c.expectEcho('ChannelData to the port outside the range', payload('channel-out-of-range'), 600);
      }),
  },
  {
    name: 'user quota',
    run: async (t) => {
      const clients: ScriptClient[] = [];
      try {
        for (let i = 0; i < 3; i++) clients.push(await ScriptClient.open(t.quota, CREDS));
        for (const [i, c] of clients.entries()) await c.allocate(`client ${i + 1}: allocate (user_quota 2)`);
        await clients[0]!.req('client 1: Refresh, LIFETIME 0', Method.REFRESH, (b) =>
          b.addUint32(Attr.LIFETIME, 0),
        );
        await clients[2]!.req('client 3: Allocate after client 1 freed one', Method.ALLOCATE, udpTransport);
        for (const [i, c] of clients.entries())
          if (i > 0)
            await c.req(`client ${i + 1}: Refresh, LIFETIME 0`, Method.REFRESH, (b) =>
              b.addUint32(Attr.LIFETIME, 0),
            );
      } finally {
        for (const c of clients) c.close();
      }
      return clients.flatMap((c) => c.steps);
    },
  },
  {
    name: 'malformed',
    run: (t) =>
      withClient(
        t.udp,
        async (c) => {
          const send = async (step: string, buf: Buffer) => {
            const txid = buf.length >= 20 ? buf.subarray(8, 20) : Buffer.alloc(12);
            c.record(step, await c.transact(buf, Buffer.from(txid), 800));
          };
          const req = (len: number, body: Buffer) => {
            const h = Buffer.alloc(20);
            h.writeUInt16BE(0x0003, 0);
            h.writeUInt16BE(len, 2);
            h.writeUInt32BE(0x2112a442, 4);
            Buffer.from('0123456789ab').copy(h, 8);
            return Buffer.concat([h, body]);
          };
          await send('not STUN (20 bytes of 0xff)', Buffer.alloc(20, 0xff));
          await send('Allocate header, length past the datagram', req(40, Buffer.alloc(8)));
          await send(
            'Allocate, attribute running past the message',
            req(8, Buffer.from([0, 0x19, 0, 32, 17, 0, 0, 0])),
          );
          await send('Allocate, length not a multiple of 4', req(6, Buffer.from([0, 0x19, 0, 2, 17, 0])));
          const bad = req(8, Buffer.from([0, 0x19, 0, 4, 17, 0, 0, 0]));
          bad.writeUInt32BE(0x2112a443, 4);
          await send('Allocate, wrong magic cookie', bad);
          const resp = req(8, Buffer.from([0, 0x19, 0, 4, 17, 0, 0, 0]));
          resp.writeUInt16BE(0x0103, 0);
          await send('an Allocate success response sent to the server', resp);
          await send(
            'Allocate, bad FINGERPRINT',
            (() => {
              const b = req(
                16,
                Buffer.concat([
                  Buffer.from([0, 0x19, 0, 4, 17, 0, 0, 0]),
                  Buffer.from([0x80, 0x28, 0, 4, 1, 2, 3, 4]),
                ]),
              );
              return b;
            })(),
          );
          await c.req('Allocate with a 764-byte USERNAME', Method.ALLOCATE, udpTransport, {
            username: 'u'.repeat(764),
          });
        },
        800,
      ),
  },
  {
    name: 'TURN-TCP',
    run: (t, p) =>
      withClient(t.tcp, async (c) => {
        await c.allocate();
        await c.req('ChannelBind 0x4000, peer inside the routes', Method.CHANNEL_BIND, (b) =>
          b.addChannelNumber(0x4000).addXorAddress(Attr.XOR_PEER_ADDRESS, p.echo),
        );
        c.channelData(0x4000, payload('tcp-odd-length'));
        await c.expectEcho('ChannelData (padded) to that peer, echo back', payload('tcp-odd-length'));
        await c.req('CreatePermission, peer outside the routes', Method.CREATE_PERMISSION, peer(OUTSIDE));
        await c.req('Refresh, LIFETIME 0', Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, 0));
      }),
  },
  {
    name: 'TURN-TLS',
    run: (t, p) =>
      withClient(t.tls, async (c) => {
        await c.allocate();
        await c.req('CreatePermission, peer inside the routes', Method.CREATE_PERMISSION, peer(p.echo));
        c.sendIndication(p.echo, payload('tls-send'));
        await c.expectEcho('Send indication to that peer, echo back', payload('tls-send'));
        await c.req('Refresh, LIFETIME 0', Method.REFRESH, (b) => b.addUint32(Attr.LIFETIME, 0));
      }),
  },
  {
    name: 'IPv6 listener',
    run: async (t, p) => {
      const first = await withClient(t.udp6, async (c) => {
        await c.allocate('Allocate, REQUESTED-ADDRESS-FAMILY IPv6', (b) =>
          b.addRequestedTransport(17).addAddressFamily(6),
        );
        await c.req('CreatePermission, IPv6 peer inside the routes', Method.CREATE_PERMISSION, peer(p.echo6));
        c.sendIndication(p.echo6, payload('v6-send'));
        await c.expectEcho('Send indication to that peer, echo back', payload('v6-send'));
        await c.req('CreatePermission, IPv4 peer inside the routes', Method.CREATE_PERMISSION, peer(p.echo));
      });
      const second = await withClient(t.udp6, (c) => c.allocate('Allocate, no REQUESTED-ADDRESS-FAMILY'));
      return [...first, ...second];
    },
  },
];

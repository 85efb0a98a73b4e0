/**
 * Regenerates the committed fuzz corpora (fuzz/corpus/<target>/): `npx tsx test/fuzz/make-corpus.ts`.
 *
 * Seeds: the RFC 5769/8489 test vectors, real captures of a TURN session (UDP datagrams both ways;
 * TCP byte streams both ways) against our runtime on loopback, the stunnerd configs that the charts
 * render into dist/ and STUNner's documented shapes, and typical /ice queries. Each seed carries the
 * target's mode byte (0x00: raw input; 0x01: structured input) in front.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CORPUS_DIR, storeInput } from '../../fuzz/engine/corpus.js';
import { streamFrameLength } from '../../runtime/stun/index.js';
import { freePort } from '../helpers/net.js';
import { prng } from '../helpers/prng.js';
import { startStunnerdInProcess } from '../helpers/stunnerd.js';
import { TurnClient, UdpPeer } from '../helpers/turn-client.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const RFC5769 = [
  `00010058 2112a442 b7e7a701 bc34d686 fa87dfae 80220010 5354554e 20746573 7420636c 69656e74
   00240004 6e0001ff 80290008 932ff9b1 51263b36 00060009 6576746a 3a683676 59202020
   00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2 80280004 e57a3bcf`,
  `0101003c 2112a442 b7e7a701 bc34d686 fa87dfae 8022000b 74657374 20766563 746f7220
   00200008 0001a147 e112a643 00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7 80280004 c07d4c96`,
  `01010048 2112a442 b7e7a701 bc34d686 fa87dfae 8022000b 74657374 20766563 746f7220
   00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9 00080014 a382954e 4be67bf1 1784c97c
   8292c275 bfe3ed41 80280004 c8fb0b4c`,
  `00010060 2112a442 78ad3433 c6ad72c0 29da412e 00060012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
   0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341 0014000b 6578616d 706c652e
   6f726700 00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`,
  `00010090 2112a442 78ad3433 c6ad72c0 29da412e 001e0020 4a3cf38f ef6992bd a952c678 0417da0f 24819415
   569e60b2 05c46e41 407f1704 00150029 6f624d61 744a6f73 32414141 43662f2f 3439396b 39353464 364f4c33
   346f4c39 46535476 79363473 41000000 0014000b 6578616d 706c652e 6f726700 001d0004 00020000
   001c0020 b5c7bf00 5b6c52a2 1c51c5e8 92f81924 136296cb 927c4314 9309278c c6518e65`,
].map(hex);

const mode = (m: number, b: Buffer) => Buffer.concat([Buffer.from([m]), b]);
const dir = (t: string) => path.join(CORPUS_DIR, t);

/** A TURN session through our runtime; returns what crossed the wire, per transport and direction. */
async function capture(): Promise<{ udp: Buffer[]; tcpUp: Buffer; tcpDown: Buffer }> {
  const [udpPort, tcpPort] = [await freePort(), await freePort()];
  const relay = await startStunnerdInProcess({
    version: 'v1',
    admin: { name: 'corpus', healthcheck_endpoint: '', metrics_endpoint: '' },
    auth: { type: 'static', realm: 'corpus', credentials: { username: 'user', password: 'pass' } },
    listeners: [
      { name: 'udp', protocol: 'TURN-UDP', address: '127.0.0.1', port: udpPort, routes: ['peers'] },
      { name: 'tcp', protocol: 'TURN-TCP', address: '127.0.0.1', port: tcpPort, routes: ['peers'] },
    ],
    clusters: [{ name: 'peers', endpoints: ['127.0.0.1/32'] }],
  });
  const peer = await UdpPeer.open(true);
  const udp: Buffer[] = [];
  const tcpUp: Buffer[] = [];
  const tcpDown: Buffer[] = [];
  try {
    for (const transport of ['udp', 'tcp'] as const) {
      const c = await TurnClient.open({
        host: '127.0.0.1',
        port: transport === 'udp' ? udpPort : tcpPort,
        username: 'user',
        password: 'pass',
        transport,
      });
      c.onFrame((frame, direction) => {
        if (direction === 'out') (transport === 'udp' ? udp : tcpUp).push(Buffer.from(frame));
        else if (transport === 'tcp') {
          // the stream as it came: frames arrive without their padding
          const padded = streamFrameLength(frame, 0) ?? frame.length;
          tcpDown.push(Buffer.concat([frame, Buffer.alloc(padded - frame.length)]));
        }
      });
      await c.allocate();
      await c.createPermission(peer.address);
      await c.channelBind(0x4001, peer.address);
      c.send(peer.address, Buffer.from('send indication'));
      c.channelData(0x4001, Buffer.from('channel data, odd length'));
      await c.waitReceived(2);
      await c.refresh(600);
      await c.refresh(0);
      if (transport === 'udp') udp.push(...c.responses);
      c.close();
    }
  } finally {
    peer.close();
    await relay.stop();
  }
  // the Data indication and ChannelData the server sent the UDP client are not responses: rebuild
  return { udp, tcpUp: Buffer.concat(tcpUp), tcpDown: Buffer.concat(tcpDown) };
}

const rand = prng(5769);
for (const t of ['stun-codec', 'stream-framer', 'config-loader', 'ice-query'])
  rmSync(dir(t), { recursive: true, force: true });

// stun-codec: vectors, captured datagrams, ChannelData, and a few structured seeds
const cap = await capture();
for (const v of RFC5769) storeInput(dir('stun-codec'), mode(0, v), 'rfc5769-');
for (const d of cap.udp) storeInput(dir('stun-codec'), mode(0, d), 'capture-udp-');
storeInput(dir('stun-codec'), mode(0, hex('40010004 70696e67')), 'channeldata-');
for (let i = 0; i < 4; i++) storeInput(dir('stun-codec'), mode(1, rand.bytes(64)), 'structured-');

// stream-framer: the TCP session both ways, whole and in small chunks; valid-frame seeds
for (const s of [cap.tcpUp, cap.tcpDown]) {
  storeInput(dir('stream-framer'), Buffer.concat([Buffer.from([0, 0]), s]), 'capture-tcp-');
  storeInput(dir('stream-framer'), Buffer.concat([Buffer.from([4, 3, 1, 3, 5]), s]), 'capture-tcp-chunked-');
}
storeInput(
  dir('stream-framer'),
  Buffer.concat([Buffer.from([2, 0, 100, 0]), cap.tcpUp]),
  'capture-tcp-maxframe-',
);
for (let i = 0; i < 3; i++) storeInput(dir('stream-framer'), mode(1, rand.bytes(48)), 'valid-');

// config-loader: the configs the charts render (dist/), STUNner's shapes, structured seeds
for (const f of ['dist/eu-west/media-gateway.k8s.yaml', 'dist/eu-west/direct-call.k8s.yaml']) {
  for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) {
    const o = doc.toJS() as { kind?: string; data?: Record<string, string> } | null;
    if (o?.kind !== 'ConfigMap' || !o.data) continue;
    for (const [k, v] of Object.entries(o.data)) {
      if (k.endsWith('.conf') || k.endsWith('.json'))
        storeInput(dir('config-loader'), mode(0, Buffer.from(v)), 'dist-');
    }
  }
}
storeInput(
  dir('config-loader'),
  mode(
    0,
    Buffer.from(`version: v1alpha1
admin:
  name: stunner-daemon
  loglevel: all:INFO
auth:
  type: plaintext
  realm: stunner.l7mp.io
  credentials:
    username: user1
    password: passwd1
listeners:
  - name: default-listener
    protocol: udp
    port: 3478
    routes:
      - allow-any
clusters:
  - name: allow-any
    type: STATIC
    endpoints:
      - 0.0.0.0/0
`),
  ),
  'v1alpha1-',
);
storeInput(dir('config-loader'), mode(0, Buffer.from('a: &x [1]\nb: *x\nc: *y\n')), 'yaml-alias-');
for (let i = 0; i < 4; i++) storeInput(dir('config-loader'), mode(1, rand.bytes(32)), 'structured-');

// ice-query
for (const q of [
  'service=turn',
  'service=turn&username=alice&ttl=3600',
  'service=turn&namespace=stunner&gateway=udp-gateway&listener=udp-listener&iceTransportPolicy=relay',
  'service=turn&ttl=0',
  'service=turn&service=turn',
  'service=stun&key=x',
]) {
  storeInput(dir('ice-query'), mode(0, Buffer.from(q)), 'query-');
}
for (let i = 0; i < 3; i++) storeInput(dir('ice-query'), mode(1, rand.bytes(24)), 'structured-');
console.log('corpus written to', path.relative(process.cwd(), CORPUS_DIR));

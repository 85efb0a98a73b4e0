/**
 * Closed-loop echo load through a TURN server. Each client owns an allocation and a peer socket
 * (the echo peer) connected to the client's relay address, so neither side needs per-packet address
 * lookups. The client keeps `window` packets in flight: every echo that comes back is stamped and
 * sent again. The send timestamp rides in the payload, so RTT needs no per-packet state.
 */
import type dgram from 'node:dgram';
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { ipv4ToInt } from '../runtime/stun/ip.js';
import { udpBatch } from '../runtime/transport/native/udp-batch.js';
import { ipv4Fd, stateOf } from '../runtime/transport/udp/handle.js';
import { onDatagram } from '../runtime/transport/udp/receive.js';
import { cpuMicros, fdCount, systemBusyMicros, threadCpuMicros } from './proc.js';
import type { ServerHandle } from './servers.js';
import { PASS, USER } from './servers.js';
import { type Addr, Attr, Cls, decode, encode, Method, newTxid, xorAddr } from './stun.js';
import { TurnClient } from './turn-client.js';

export interface LoadOptions {
  readonly clients: number;
  readonly window: number;
  /** Application payload bytes per packet (the ChannelData frame adds 4). */
  readonly payload: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /**
   * `peer`: each client echoes through its own UDP echo peer (a worker thread), a true RTT.
   * `pairs`: clients are paired and relay to each other's relay address (like turnutils_uclient -y);
   * every datagram the generator handles was relayed twice by the server, which halves the
   * generator's cost per relayed packet. Latency samples are then one-way client->client, which
   * crosses the server twice, like an echo RTT.
   */
  readonly topology: 'peer' | 'pairs';
  /**
   * `peer` topology only: the UDP port of an echo peer already running on 127.0.0.1 (the bench's C
   * echo peer), which every client then uses, instead of the worker's echo sockets. Relayed
   * packets are then counted as two per echo received (each crossed the server twice).
   */
  readonly peerPort?: number;
}

export interface LoadResult {
  readonly clients: number;
  readonly window: number;
  /** Packets the server relayed per second, both directions (client->peer and peer->client). */
  readonly relayedPerSec: number;
  /** Server CPU (utime+stime, all threads) per relayed packet. */
  readonly cpuUsPerPkt: number;
  /** Server CPU use over the measured interval, in cores. */
  readonly serverCores: number;
  /** Load generator (this process) CPU use over the measured interval, in cores. */
  readonly generatorCores: number;
  /**
   * Everything else that kept the machine's CPUs busy meanwhile (other processes, and softirq time
   * the kernel did not charge to a process), in cores: the noise indicator of a shared machine.
   */
  readonly otherCores: number;
  readonly sent: number;
  readonly lost: number;
  readonly lossPct: number;
  readonly rttP50Us: number;
  readonly rttP99Us: number;
  /** CPU of the busiest server threads over the measured interval, in cores (how work spreads). */
  readonly busiestThreads: number[];
  /** Per server process: descriptors added by this run's allocations (how the flows spread). */
  readonly allocsPerProcess: number[];
}

/** What one measured interval of a closed loop counted, before it is turned into rates. */
interface Measured {
  readonly secs: number;
  /** Packets the server relayed in the interval, both directions. */
  readonly relayed: number;
  readonly serverCpuUs: number;
  readonly generatorCpuUs: number;
  /** CPU time the whole machine was busy, every process and the kernel. */
  readonly systemBusyUs: number;
  /** RTT samples in ms (sorted in place). */
  readonly samples: Float64Array;
  readonly sent: number;
  readonly received: number;
  readonly allocsPerProcess: number[];
  /** CPU of each server thread over the interval. */
  readonly threadCpuUs: number[];
}

function loadResult(opts: { clients: number; window: number }, m: Measured): LoadResult {
  const sorted = m.samples.sort();
  const lost = Math.max(0, m.sent - m.received);
  return {
    clients: opts.clients,
    window: opts.window,
    relayedPerSec: m.relayed / m.secs,
    cpuUsPerPkt: m.relayed > 0 ? m.serverCpuUs / m.relayed : Number.NaN,
    serverCores: m.serverCpuUs / 1e6 / m.secs,
    generatorCores: m.generatorCpuUs / 1e6 / m.secs,
    otherCores: Math.max(0, (m.systemBusyUs - m.serverCpuUs - m.generatorCpuUs) / 1e6 / m.secs),
    sent: m.sent,
    lost,
    lossPct: m.sent > 0 ? (100 * lost) / m.sent : 0,
    rttP50Us: percentile(sorted, 0.5) * 1000,
    rttP99Us: percentile(sorted, 0.99) * 1000,
    allocsPerProcess: m.allocsPerProcess,
    busiestThreads: m.threadCpuUs
      .map((us) => us / 1e6 / m.secs)
      .sort((a, b) => b - a)
      .slice(0, 3),
  };
}

const CHANNEL = 0x4000;
const MAX_SAMPLES = 4_000_000;
const DRAIN_MS = 400;

interface Lane {
  readonly client: TurnClient;
  /** Where this client's packets go: its echo peer or its partner's relay address. */
  readonly target: Addr;
}

/**
 * The echo peer runs in a worker thread: one socket per lane, connected to that lane's relay
 * address, echoing every datagram back. On 2 cores this keeps the generator off the critical path
 * (client half on the main thread, peer half on the worker). Plain JS so no loader is needed.
 */
const PEER_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const count = new Int32Array(workerData);
let socks = [];
parentPort.on('message', (msg) => {
  if (msg.type === 'bind') {
    let left = msg.relays.length;
    const addrs = new Array(left);
    msg.relays.forEach((r, i) => {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 21, sendBufferSize: 1 << 21 });
      s.on('error', () => {});
      s.on('message', (m) => { count[0]++; s.send(m); });
      socks.push(s);
      s.bind(0, '127.0.0.1', () => s.connect(r.port, r.address, () => {
        addrs[i] = s.address();
        if (--left === 0) parentPort.postMessage(addrs);
      }));
    });
  } else if (msg.type === 'close') {
    for (const s of socks) s.close();
    socks = [];
    parentPort.postMessage('closed');
  }
});`;

class EchoPeers {
  private readonly worker: Worker;
  readonly count: Int32Array;

  constructor() {
    const sab = new SharedArrayBuffer(4);
    this.count = new Int32Array(sab);
    this.worker = new Worker(PEER_WORKER, { eval: true, workerData: sab });
  }

  bind(relays: Addr[]): Promise<Addr[]> {
    return new Promise((res) => {
      this.worker.once('message', (addrs: Addr[]) =>
        res(addrs.map((a) => ({ address: a.address, port: a.port }))),
      );
      this.worker.postMessage({ type: 'bind', relays });
    });
  }

  async close(): Promise<void> {
    await new Promise((res) => {
      this.worker.once('message', res);
      this.worker.postMessage({ type: 'close' });
    });
    await this.worker.terminate();
  }
}

async function setup(server: ServerHandle, opts: LoadOptions, peers: EchoPeers | undefined): Promise<Lane[]> {
  const opened: TurnClient[] = [];
  const relays: Addr[] = [];
  // a group of server processes shares the clients round-robin (pairs then span two servers)
  const ports = server.group?.map((g) => g.port) ?? [server.port];
  for (let i = 0; i < opts.clients; i++) {
    const client = await TurnClient.open(
      { address: '127.0.0.1', port: ports[i % ports.length]! },
      { user: USER, pass: PASS },
    );
    opened.push(client);
    relays.push(await client.allocate());
  }
  // pairs: 0<->1, 2<->3, ...
  const targets = peers
    ? await peers.bind(relays)
    : opts.topology === 'peer' && opts.peerPort !== undefined
      ? relays.map(() => ({ address: '127.0.0.1', port: opts.peerPort! }))
      : relays.map((_, i) => relays[i ^ 1]!);
  const lanes: Lane[] = [];
  for (let i = 0; i < opts.clients; i++) {
    const client = opened[i]!;
    const target = targets[i]!;
    await client.createPermission(target);
    if (server.mode === 'channel') await client.channelBind(CHANNEL, target);
    lanes.push({ client, target });
  }
  return lanes;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Runs one closed-loop measurement against an already running server. */
export async function runLoad(server: ServerHandle, opts: LoadOptions): Promise<LoadResult> {
  if (opts.topology === 'pairs' && opts.clients % 2 !== 0) throw new Error('pairs need an even client count');
  const peers = opts.topology === 'peer' && opts.peerPort === undefined ? new EchoPeers() : undefined;
  const pids = server.group?.map((g) => g.pid) ?? [server.pid];
  const fdBase = pids.map(fdCount);
  const lanes = await setup(server, opts, peers);
  // Each datagram a client receives crossed the server once (worker peer: its count adds the
  // other crossing) or twice (pairs, external peer).
  const peerCount = peers?.count;
  const relayedNow = (): number => (peerCount ? clientRecv + peerCount[0]! : 2 * clientRecv);
  const samples = new Float64Array(MAX_SAMPLES);
  let nSamples = 0;
  let recording = false;
  let running = true;
  let sent = 0;
  let clientRecv = 0;

  const detach: (() => void)[] = [];
  for (const lane of lanes) {
    const sock = lane.client.sock;
    if (server.mode === 'channel') {
      // The generator's own I/O goes through the runtime's batched UDP module where it loads
      // (recvmmsg drains, one sendmsg per echo): on 2 cores every µs the generator saves is CPU the
      // server can use, which is what lets the multi-core rows show scaling at all.
      const send = echoSender(sock, lane.client.server);
      // the control handler comes back with restoreControl() below
      sock.removeAllListeners('message');
      detach.push(
        onDatagram(sock, (m, start, end) => {
          if (end - start < 12 || (m[start]! & 0xc0) !== 0x40) return;
          clientRecv++;
          const now = performance.now();
          if (recording && nSamples < MAX_SAMPLES) samples[nSamples++] = now - m.readDoubleLE(start + 4);
          if (!running) return;
          m.writeDoubleLE(now, start + 4);
          send(m, start, end);
          sent++;
        }),
      );
    } else {
      const peerAttr = xorAddr(lane.target);
      lane.client.setHandler((m: Buffer) => {
        const d = decode(m);
        if (!d || d.method !== Method.DATA || d.cls !== Cls.INDICATION) return;
        const data = d.attrs.get(Attr.DATA);
        if (!data || data.length < 8) return;
        clientRecv++;
        const now = performance.now();
        if (recording && nSamples < MAX_SAMPLES) samples[nSamples++] = now - data.readDoubleLE(0);
        if (!running) return;
        const payload = Buffer.from(data);
        payload.writeDoubleLE(now, 0);
        sock.send(
          encode(Method.SEND, Cls.INDICATION, newTxid(), [
            [Attr.XOR_PEER_ADDRESS, peerAttr],
            [Attr.DATA, payload],
          ]),
        );
        sent++;
      });
    }
  }

  // Prime every window.
  for (const lane of lanes) {
    for (let w = 0; w < opts.window; w++) {
      const payload = Buffer.alloc(opts.payload);
      payload.writeDoubleLE(performance.now(), 0);
      if (server.mode === 'channel') {
        const frame = Buffer.alloc(4 + opts.payload);
        frame.writeUInt16BE(CHANNEL, 0);
        frame.writeUInt16BE(opts.payload, 2);
        payload.copy(frame, 4);
        lane.client.sock.send(frame);
      } else {
        lane.client.sock.send(
          encode(Method.SEND, Cls.INDICATION, newTxid(), [
            [Attr.XOR_PEER_ADDRESS, xorAddr(lane.target)],
            [Attr.DATA, payload],
          ]),
        );
      }
      sent++;
    }
  }

  await sleep(opts.warmupMs);
  recording = true;
  const t0 = performance.now();
  const cpuAll = (): number => pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  const cpu0 = cpuAll();
  const thr0 = pids.map(threadCpuMicros);
  const sys0 = systemBusyMicros();
  const gen0 = process.cpuUsage();
  const relayed0 = relayedNow();
  await sleep(opts.durationMs);
  const relayed1 = relayedNow();
  const cpu1 = cpuAll();
  const thr1 = pids.map(threadCpuMicros);
  const sys1 = systemBusyMicros();
  const gen1 = process.cpuUsage(gen0);
  const t1 = performance.now();
  const allocsPerProcess = pids.map((pid, i) => fdCount(pid) - fdBase[i]!);
  recording = false;
  running = false;
  await sleep(DRAIN_MS);
  for (const d of detach) d();
  // Release the allocations (restores the control handler first) so later phases start clean.
  await Promise.all(
    lanes.map(async (l) => {
      l.client.restoreControl();
      await l.client.refresh(0).catch(() => {});
      l.client.close();
    }),
  );
  await peers?.close();

  return loadResult(opts, {
    secs: (t1 - t0) / 1000,
    relayed: relayed1 - relayed0,
    serverCpuUs: cpu1 - cpu0,
    generatorCpuUs: gen1.user + gen1.system,
    systemBusyUs: sys1 - sys0,
    samples: samples.subarray(0, nSamples),
    sent,
    received: clientRecv,
    allocsPerProcess,
    threadCpuUs: thr1.flatMap((m, i) => [...m].map(([tid, us]) => us - (thr0[i]!.get(tid) ?? 0))),
  });
}

/**
 * runLoad's closed loop with no TURN: each client sends bare payloads to a forwarder (bench/native's
 * floors). `peer`: the forwarder relays them to its echo peer and back; `pairs` (a forwarder run
 * with --pairs): to the partner client's relay socket, as between paired TURN clients. Either way
 * every datagram a client receives crossed the forwarder twice. `pid`: the forwarder's process.
 */
export async function runRawLoad(
  forwarder: { readonly port: number; readonly pid: number },
  opts: Omit<LoadOptions, 'peerPort'>,
): Promise<LoadResult> {
  const server: Addr = { address: '127.0.0.1', port: forwarder.port };
  const socks: dgram.Socket[] = [];
  for (let i = 0; i < opts.clients; i++) {
    const sock = createSocket({ type: 'udp4', recvBufferSize: 1 << 21, sendBufferSize: 1 << 21 });
    sock.on('error', () => {});
    await new Promise<void>((res) =>
      sock.bind(0, '127.0.0.1', () => sock.connect(server.port, server.address, res)),
    );
    socks.push(sock);
  }
  const samples = new Float64Array(MAX_SAMPLES);
  let nSamples = 0;
  let recording = false;
  let running = true;
  let sent = 0;
  let clientRecv = 0;
  const paired = socks.map(() => false);
  const detach = socks.map((sock, i) => {
    const send = echoSender(sock, server);
    return onDatagram(sock, (m, start, end) => {
      if (end - start < 8) {
        paired[i] = true; // a 1-byte hello from the partner: the pair exists in the forwarder
        return;
      }
      clientRecv++;
      const now = performance.now();
      if (recording && nSamples < MAX_SAMPLES) samples[nSamples++] = now - m.readDoubleLE(start);
      if (!running) return;
      m.writeDoubleLE(now, start);
      send(m, start, end);
      sent++;
    });
  });
  if (opts.topology === 'pairs') {
    // the forwarder pairs flows as they arrive: hellos from every client until every client heard
    // its partner's (the first hello of a pair finds no partner yet and is dropped)
    for (let i = 0; i < 100 && paired.includes(false); i++) {
      for (const sock of socks) sock.send(Buffer.alloc(1));
      await sleep(20);
    }
    if (paired.includes(false)) {
      for (const d of detach) d();
      for (const sock of socks) sock.close();
      throw new Error(
        `forwarder on port ${forwarder.port} paired ${paired.filter(Boolean).length}/${socks.length} clients in 2 s`,
      );
    }
  }
  for (const sock of socks) {
    for (let w = 0; w < opts.window; w++) {
      const payload = Buffer.alloc(opts.payload);
      payload.writeDoubleLE(performance.now(), 0);
      sock.send(payload);
      sent++;
    }
  }
  await sleep(opts.warmupMs);
  recording = true;
  const t0 = performance.now();
  const cpu0 = cpuMicros(forwarder.pid);
  const thr0 = threadCpuMicros(forwarder.pid);
  const sys0 = systemBusyMicros();
  const gen0 = process.cpuUsage();
  const recv0 = clientRecv;
  await sleep(opts.durationMs);
  const recv1 = clientRecv;
  const cpu1 = cpuMicros(forwarder.pid);
  const thr1 = threadCpuMicros(forwarder.pid);
  const sys1 = systemBusyMicros();
  const gen1 = process.cpuUsage(gen0);
  const t1 = performance.now();
  recording = false;
  running = false;
  await sleep(DRAIN_MS);
  for (const d of detach) d();
  for (const sock of socks) sock.close();

  return loadResult(opts, {
    secs: (t1 - t0) / 1000,
    relayed: 2 * (recv1 - recv0),
    serverCpuUs: cpu1 - cpu0,
    generatorCpuUs: gen1.user + gen1.system,
    systemBusyUs: sys1 - sys0,
    samples: samples.subarray(0, nSamples),
    sent,
    received: clientRecv,
    allocsPerProcess: [],
    threadCpuUs: [...thr1].map(([tid, us]) => us - (thr0.get(tid) ?? 0)),
  });
}

/**
 * Sends buf[start..end) to the client's server: one sendmsg() through the batched UDP module, or
 * dgram's send (with a copy: the bytes may be the module's transient arena) where it does not load.
 */
function echoSender(sock: dgram.Socket, server: Addr): (buf: Buffer, start: number, end: number) => void {
  const batch = udpBatch();
  const fd = ipv4Fd(sock, stateOf(sock));
  if (batch === undefined || fd < 0)
    return (buf, start, end) => sock.send(Buffer.from(buf.subarray(start, end)));
  const ip = ipv4ToInt(server.address);
  return (buf, start, end) => {
    // EAGAIN (send buffer full) counts as a loss, like a dropped datagram
    batch.send(fd, buf, start, end - start, ip, server.port);
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

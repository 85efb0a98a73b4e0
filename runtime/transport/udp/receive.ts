/**
 * Hot-path UDP receives. The socket's UDP handle calls the handler directly (no dgram event emit,
 * no `size` property that changes every rinfo's shape), and where the batched I/O module loads
 * (runtime/transport/native), each datagram Node delivers is followed by one recvmmsg() that drains the rest
 * of the socket's queue into a shared arena: one Node callback per wake-up instead of one per
 * datagram. Receive errors still go to dgram (an 'error' event). Anything unexpected (another
 * Node version's internals, a test double, an unbound socket) falls back to the 'message' event.
 *
 * Datagrams drained into the arena are TRANSIENT: the next drain overwrites them. A handler may
 * read them and send them on synchronously; anything kept longer must be copied (durable).
 */
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { ipv4ToInt } from '../../stun/ip.js';
import { udpBatch } from '../native/udp-batch.js';
import { BIND_STATE_BOUND, ipv4Fd, stateOf } from './handle.js';

/**
 * One datagram: buf[start..end) from `port` at `ip` (an IPv4 address as uint32, or -1 for IPv6,
 * whose address is in rinfo). rinfo is Node's, and undefined for datagrams from a batch.
 */
export type DatagramHandler = (
  buf: Buffer,
  start: number,
  end: number,
  ip: number,
  port: number,
  rinfo: RemoteInfo | undefined,
) => void;
type OnMessage = (this: unknown, nread: number, handle: unknown, buf: Buffer, rinfo: RemoteInfo) => void;

/** Datagrams per drain: libuv reads at most 32 per wake-up too. */
const SLOTS = 32;
/** Room for the largest UDP datagram, so that nothing is ever truncated. */
const SLOT_BYTES = 65536;

let arena: Buffer | undefined;
let meta: Int32Array | undefined;

/** True when buf is the batch arena (or a view of it): copy before keeping it past the handler. */
export function isTransient(buf: Buffer): boolean {
  return arena !== undefined && buf.buffer === arena.buffer;
}

/** buf itself, or a copy of its bytes when it is transient: what may be kept or queued. */
export function durable(buf: Buffer): Buffer {
  return isTransient(buf) ? Buffer.from(buf) : buf;
}

/** Delivers every datagram of a bound socket to `handler`; returns the function that detaches it. */
export function onDatagram(socket: UdpSocket, handler: DatagramHandler): () => void {
  const state = stateOf(socket);
  const handle = state?.handle;
  const original = handle?.onmessage;
  if (
    state === undefined ||
    handle === null ||
    handle === undefined ||
    state.bindState !== BIND_STATE_BOUND ||
    typeof original !== 'function'
  ) {
    const onMessage = (msg: Buffer, rinfo: RemoteInfo): void =>
      handler(msg, 0, msg.length, rinfo.family === 'IPv4' ? ipv4ToInt(rinfo.address) : -1, rinfo.port, rinfo);
    socket.on('message', onMessage);
    return () => socket.off('message', onMessage);
  }
  const dgramOnMessage = original as OnMessage;
  const fd = ipv4Fd(socket, state);
  const batch = fd >= 0 ? udpBatch() : undefined;
  if (batch !== undefined && arena === undefined) {
    arena = Buffer.allocUnsafeSlow(SLOTS * SLOT_BYTES);
    meta = new Int32Array(SLOTS * 3);
  }
  const direct: OnMessage = function (this: unknown, nread, h, buf, rinfo) {
    if (nread < 0) {
      dgramOnMessage.call(this, nread, h, buf, rinfo);
      return;
    }
    handler(buf, 0, buf.length, rinfo.family === 'IPv4' ? ipv4ToInt(rinfo.address) : -1, rinfo.port, rinfo);
    // Drain what queued up behind it, unless the handler closed the socket.
    if (batch === undefined || state.handle !== handle) return;
    const a = arena!;
    const m = meta!;
    const n = batch.recv(fd, a, m, SLOTS, SLOT_BYTES);
    for (let i = 0; i < n; i++) {
      const len = m[3 * i]!;
      if (len < 0) continue;
      const start = i * SLOT_BYTES;
      handler(a, start, start + len, m[3 * i + 1]! >>> 0, m[3 * i + 2]!, undefined);
    }
  };
  handle.onmessage = direct;
  return () => {
    if (handle.onmessage === direct) handle.onmessage = dgramOnMessage;
  };
}

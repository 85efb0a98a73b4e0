/**
 * Hot-path UDP sends without dgram.send's per-call work (argument normalisation, a buffer list,
 * a lookup closure and a request object per datagram).
 *
 * - IPv4 with the batched I/O module (runtime/transport/native): one non-blocking sendmsg() from the buffer
 *   range to the numeric address. When the socket buffer is full (EAGAIN) the datagram takes the
 *   path below, which queues it.
 * - Otherwise: straight to the socket's UDP handle, which tries a synchronous sendmsg first. When
 *   the kernel takes the datagram at once (the usual case), nothing retains the buffers or the
 *   request object, so they are reused for the next send; when libuv has to queue it, they stay
 *   with the queued send and fresh ones are made. Transient (batch arena) bytes are copied first,
 *   since a queued send outlives them.
 * - Anything unexpected (another Node version's internals, a test double): socket.send with the
 *   same semantics.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { type UdpBatch, udpBatch } from '../native/udp-batch.js';
import { BIND_STATE_BOUND, ipv4Fd, SendWrap, type SocketState, stateOf, type UdpHandle } from './handle.js';
import { durable, isTransient } from './receive.js';

const EMPTY = Buffer.alloc(0);

export class UdpSender {
  private readonly state: SocketState | undefined;
  private req: { list?: Buffer[] | undefined } | undefined;
  private one: Buffer[] = [EMPTY];
  private two: Buffer[] = [EMPTY, EMPTY];
  /** ChannelData header (4 bytes) reused while sends complete synchronously; made on first use. */
  private head: Buffer | null = null;
  /** Batched I/O: the module, and the handle whose descriptor `fd` is (a closed socket's fd is reused). */
  private readonly batch: UdpBatch | undefined;
  private readonly fd: number;
  private readonly batchHandle: UdpHandle | null | undefined;

  constructor(readonly socket: UdpSocket) {
    this.state = stateOf(socket);
    this.req = this.state !== undefined && SendWrap !== undefined ? new SendWrap() : undefined;
    this.fd = ipv4Fd(socket, this.state);
    this.batch = this.fd >= 0 ? udpBatch() : undefined;
    this.batchHandle = this.state?.handle;
  }

  /** True when sends bypass dgram.send (for tests and diagnostics). */
  get direct(): boolean {
    return this.state !== undefined;
  }

  /** True when IPv4 sends go out through the batched I/O module. */
  get native(): boolean {
    return this.batch !== undefined;
  }

  /**
   * Sends buf[start..start+len) to port at `ip` (IPv4 as uint32; -1 for IPv6, which uses
   * `address`). Errors (closed socket, unreachable) lose the datagram, as UDP may.
   */
  sendRange(buf: Buffer, start: number, len: number, ip: number, port: number, address: string): void {
    const b = this.batch;
    if (b !== undefined && ip >= 0) {
      if (this.state!.handle !== this.batchHandle) return;
      if (b.send(this.fd, buf, start, len, ip, port) !== b.EAGAIN) return;
    }
    const state = this.state;
    if (state === undefined) {
      try {
        if (isTransient(buf))
          this.socket.send(Buffer.from(buf.subarray(start, start + len)), 0, len, port, address);
        else this.socket.send(buf, start, len, port, address);
      } catch {
        // closed socket: the datagram is lost
      }
      return;
    }
    const list = this.one;
    list[0] = start === 0 && len === buf.length ? buf : buf.subarray(start, start + len);
    if (this.dispatch(state, list, 1, port, address) === 0) this.one = [EMPTY];
    else list[0] = EMPTY;
  }

  /** ChannelData: a 4-byte header (channel number, length) and buf[start..start+len), as one datagram. */
  sendChannelData(
    number: number,
    buf: Buffer,
    start: number,
    len: number,
    ip: number,
    port: number,
    address: string,
  ): void {
    const b = this.batch;
    if (b !== undefined && ip >= 0) {
      if (this.state!.handle !== this.batchHandle) return;
      if (b.sendChannel(this.fd, number, buf, start, len, ip, port) !== b.EAGAIN) return;
    }
    const state = this.state;
    let h = this.head;
    if (h === null) h = this.head = Buffer.allocUnsafeSlow(4);
    h[0] = number >>> 8;
    h[1] = number & 0xff;
    h[2] = len >>> 8;
    h[3] = len & 0xff;
    const payload = start === 0 && len === buf.length ? buf : buf.subarray(start, start + len);
    if (state === undefined) {
      try {
        this.socket.send([Buffer.from(h), durable(payload)], port, address);
      } catch {
        // closed socket
      }
      return;
    }
    const list = this.two;
    list[0] = h;
    list[1] = payload;
    if (this.dispatch(state, list, 2, port, address) === 0) {
      // Queued: the header and list now belong to that send.
      this.head = null;
      this.two = [EMPTY, EMPTY];
    } else {
      list[1] = EMPTY;
    }
  }

  /** Several buffers as one datagram (the list is not kept: callers pass a fresh one). */
  sendList(list: Buffer[], port: number, address: string): void {
    const state = this.state;
    if (state === undefined) {
      try {
        this.socket.send(list.map(durable), port, address);
      } catch {
        // closed socket
      }
      return;
    }
    this.dispatch(state, list, list.length, port, address);
  }

  /**
   * Returns 0 when libuv queued the send (the list and request stay in use until it completes),
   * anything else when it finished or failed synchronously.
   */
  private dispatch(state: SocketState, list: Buffer[], count: number, port: number, address: string): number {
    const handle = state.handle;
    // Closed (handle gone) or not bound yet: dgram would throw or queue; the datagram is lost.
    if (handle === null || state.bindState !== BIND_STATE_BOUND) return -1;
    for (let i = 0; i < count; i++) list[i] = durable(list[i]!);
    const req = this.req!;
    req.list = list;
    const r = handle.send(req, list, count, port, address, false);
    if (r === 0) {
      this.req = new SendWrap!();
      return 0;
    }
    req.list = undefined;
    return r;
  }
}

const shared = new WeakMap<UdpSocket, UdpSender>();
/** One sender per socket (e.g. a listener socket shared by all its client links). */
export function senderFor(socket: UdpSocket): UdpSender {
  let s = shared.get(socket);
  if (s === undefined) {
    s = new UdpSender(socket);
    shared.set(socket, s);
  }
  return s;
}

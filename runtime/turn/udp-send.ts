/**
 * Hot-path UDP sends without dgram.send's per-call work (argument normalisation, a buffer list,
 * a lookup closure and a request object per datagram): datagrams go straight to the socket's UDP
 * handle, which tries a synchronous sendmsg first. When the kernel takes the datagram at once
 * (the usual case), nothing retains the buffers or the request object, so they are reused for the
 * next send; when libuv has to queue it, they stay with the queued send and fresh ones are made.
 * Anything unexpected (another Node version's internals, a test double) falls back to
 * socket.send with the same semantics.
 */
import type { Socket as UdpSocket } from 'node:dgram';

interface UdpHandle {
  onmessage?: unknown;
  send(req: object, list: Buffer[], count: number, port: number, address: string, cb: boolean): number;
}
export interface SocketState {
  handle: UdpHandle | null;
  bindState: number;
}
const EMPTY = Buffer.alloc(0);
type SendWrapCtor = new () => { list?: Buffer[] | undefined };

/** The request class dgram itself uses for sends, or undefined where it cannot be had. */
const SendWrap: SendWrapCtor | undefined = (() => {
  try {
    const binding = (process as unknown as { binding(name: string): { SendWrap?: unknown } }).binding(
      'udp_wrap',
    );
    return typeof binding.SendWrap === 'function' ? (binding.SendWrap as SendWrapCtor) : undefined;
  } catch {
    return undefined;
  }
})();

/** dgram's private state key, found once (every socket has the same one). */
let stateSymbol: symbol | undefined;

export function stateOf(socket: UdpSocket): SocketState | undefined {
  if (SendWrap === undefined) return undefined;
  let sym = stateSymbol;
  if (sym === undefined || !(sym in socket)) {
    sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
    if (sym === undefined) return undefined;
    stateSymbol = sym;
  }
  const state = (socket as unknown as Record<symbol, SocketState | undefined>)[sym];
  if (state === undefined || state === null || typeof state.handle?.send !== 'function') return undefined;
  return state;
}

export class UdpSender {
  private readonly state: SocketState | undefined;
  private req: { list?: Buffer[] | undefined } | undefined;
  private one: Buffer[] = [EMPTY];
  private two: Buffer[] = [EMPTY, EMPTY];
  /** ChannelData header (4 bytes) reused while sends complete synchronously; made on first use. */
  private head: Buffer | null = null;

  constructor(readonly socket: UdpSocket) {
    this.state = stateOf(socket);
    this.req = this.state !== undefined && SendWrap !== undefined ? new SendWrap() : undefined;
  }

  /** True when sends bypass dgram.send (for tests and diagnostics). */
  get direct(): boolean {
    return this.state !== undefined;
  }

  /** Sends buf[start..start+len). Errors (closed socket, unreachable) lose the datagram, as UDP may. */
  sendRange(buf: Buffer, start: number, len: number, port: number, address: string): void {
    const state = this.state;
    if (state === undefined) {
      try {
        this.socket.send(buf, start, len, port, address);
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

  /** ChannelData: a 4-byte header (channel number, length) and the payload, as one datagram. */
  sendChannelData(number: number, payload: Buffer, port: number, address: string): void {
    const state = this.state;
    let h = this.head;
    if (h === null) h = this.head = Buffer.allocUnsafeSlow(4);
    h[0] = number >>> 8;
    h[1] = number & 0xff;
    h[2] = payload.length >>> 8;
    h[3] = payload.length & 0xff;
    if (state === undefined) {
      try {
        this.socket.send([Buffer.from(h), payload], port, address);
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
        this.socket.send(list, port, address);
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
/** dgram's internal bind state for a bound socket. */
export const BIND_STATE_BOUND = 2;

/**
 * The dgram internals the hot path uses: a bound socket's UDP handle (send, onmessage, fd) and
 * the request class dgram sends with. undefined wherever they are not what this code expects
 * (another Node version, a test double): callers then use the public dgram API.
 */
import type { Socket as UdpSocket } from 'node:dgram';

export interface UdpHandle {
  onmessage?: unknown;
  /** The socket's descriptor (Unix). */
  readonly fd?: unknown;
  send(req: object, list: Buffer[], count: number, port: number, address: string, cb: boolean): number;
}
export interface SocketState {
  /** null once the socket is closed. */
  handle: UdpHandle | null;
  bindState: number;
}
/** dgram's internal bind state for a bound socket. */
export const BIND_STATE_BOUND = 2;

export type SendWrapCtor = new () => { list?: Buffer[] | undefined };

/** The request class dgram itself uses for sends, or undefined where it cannot be had. */
export const SendWrap: SendWrapCtor | undefined = (() => {
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

/** The descriptor of a bound IPv4 socket's handle, or -1 (IPv6, closed, or no internals). */
export function ipv4Fd(socket: UdpSocket, state: SocketState | undefined): number {
  const fd = state?.handle?.fd;
  return (socket as unknown as { type?: string }).type === 'udp4' && typeof fd === 'number' && fd >= 0
    ? fd
    : -1;
}

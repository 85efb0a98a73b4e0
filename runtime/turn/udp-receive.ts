/**
 * Hot-path UDP receives without dgram's per-datagram event emit (and the `size` property it adds
 * to every rinfo, which changes the object's shape): the socket's UDP handle calls the handler
 * directly. Receive errors still go to dgram (an 'error' event). Anything unexpected (another
 * Node version's internals, a test double, an unbound socket) falls back to the 'message' event.
 */
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { BIND_STATE_BOUND, stateOf } from './udp-send.js';

export type DatagramHandler = (msg: Buffer, rinfo: RemoteInfo) => void;
type OnMessage = (this: unknown, nread: number, handle: unknown, buf: Buffer, rinfo: RemoteInfo) => void;

/** Delivers every datagram of a bound socket to `handler`; returns the function that detaches it. */
export function onDatagram(socket: UdpSocket, handler: DatagramHandler): () => void {
  const state = stateOf(socket);
  const handle = state?.handle as { onmessage?: unknown } | null | undefined;
  const original = handle?.onmessage;
  if (
    state === undefined ||
    handle === null ||
    handle === undefined ||
    state.bindState !== BIND_STATE_BOUND ||
    typeof original !== 'function'
  ) {
    socket.on('message', handler);
    return () => socket.off('message', handler);
  }
  const dgramOnMessage = original as OnMessage;
  const direct: OnMessage = function (this: unknown, nread, h, buf, rinfo) {
    if (nread < 0) {
      dgramOnMessage.call(this, nread, h, buf, rinfo);
      return;
    }
    handler(buf, rinfo);
  };
  handle.onmessage = direct;
  return () => {
    if (handle.onmessage === direct) handle.onmessage = dgramOnMessage;
  };
}

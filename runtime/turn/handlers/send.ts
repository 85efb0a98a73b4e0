/**
 * A Send indication (RFC 8656 sec 11.2) that did not take the fast path (turn/fast-path.ts), e.g.
 * IPv6 or unusual attributes: relayed when a permission exists, silently dropped otherwise.
 */
import { Attr, decodeXorAddress, type StunMessage } from '../../stun/index.js';
import { keyOf, type RequestSource } from './context.js';

export function handleSendIndication(src: RequestSource, msg: StunMessage): void {
  const a = src.allocation();
  if (a === undefined || msg.unknownRequired().length > 0) return;
  const pa = msg.get(Attr.XOR_PEER_ADDRESS);
  const data = msg.get(Attr.DATA);
  if (pa === undefined || data === undefined) return;
  const peer = decodeXorAddress(msg, pa);
  if (peer === undefined || peer.family !== a.family) return;
  const perm = a.permissions.get(keyOf(peer));
  if (perm === undefined) return;
  a.sendTo(perm, peer.port, msg.buf, data.offset, data.length);
}

/** Binding (RFC 8489): the client's reflexive address; no authentication. */
import { Attr, ErrorCode, type StunMessage } from '../../stun/index.js';
import { errorAnswer, type RequestSource, reply, successAnswer } from './context.js';

export function handleBinding(src: RequestSource, msg: StunMessage, fingerprint: boolean): void {
  const unknown = msg.unknownRequired();
  if (unknown.length > 0) {
    reply(
      src,
      errorAnswer(msg, ErrorCode.UNKNOWN_ATTRIBUTE).addUnknownAttributes(unknown).build({ fingerprint }),
    );
    return;
  }
  const out = successAnswer(msg)
    .addXorAddress(Attr.XOR_MAPPED_ADDRESS, {
      family: src.link.family,
      address: src.link.address,
      port: src.link.port,
    })
    .build({ fingerprint });
  reply(src, out);
}

/** Refresh (RFC 8656 sec 8): a new lifetime, or 0 to delete the allocation. */
import { Attr, decodeAddressFamily, ErrorCode } from '../../stun/index.js';
import { errorAnswer, onAllocation, requestedLifetime, successAnswer } from './context.js';

export const handleRefresh = onAllocation((ctx, _src, msg, a, respond) => {
  const famAttr = msg.get(Attr.REQUESTED_ADDRESS_FAMILY);
  if (famAttr !== undefined && decodeAddressFamily(msg, famAttr) !== a.family) {
    respond(errorAnswer(msg, ErrorCode.PEER_ADDRESS_FAMILY_MISMATCH));
    return;
  }
  const lifetimeS = requestedLifetime(msg, false);
  if (lifetimeS === 0) {
    ctx.table.remove(a, 'refreshed with lifetime 0');
  } else {
    ctx.table.refresh(a, lifetimeS);
  }
  respond(successAnswer(msg).addUint32(Attr.LIFETIME, lifetimeS));
});

/** CreatePermission (RFC 8656 sec 10): one or more peer IPs, all admitted by the perimeter or none. */
import { ErrorCode } from '../../stun/index.js';
import { TurnError } from '../errors.js';
import { errorAnswer, errorFor, keyOf, logDenied, onAllocation, peersOf, successAnswer } from './context.js';

export const handleCreatePermission = onAllocation((ctx, src, msg, a, respond) => {
  const peers = peersOf(msg);
  if (peers === undefined || peers.length === 0) {
    respond(errorAnswer(msg, ErrorCode.BAD_REQUEST, 'XOR-PEER-ADDRESS missing or malformed'));
    return;
  }
  for (const p of peers) {
    if (p.family !== a.family) {
      respond(errorAnswer(msg, ErrorCode.PEER_ADDRESS_FAMILY_MISMATCH));
      return;
    }
  }
  // All or nothing (RFC 8656 sec 10.2): check every peer before installing any.
  for (const p of peers) {
    const r = ctx.table.check(a, p.address);
    if (r instanceof TurnError) {
      logDenied(ctx, src, a, p, r);
      respond(errorFor(ctx, msg, r));
      return;
    }
  }
  for (const p of peers) {
    const r = ctx.table.permit(a, keyOf(p), p.address, p.family);
    if (r instanceof TurnError) {
      logDenied(ctx, src, a, p, r);
      respond(errorFor(ctx, msg, r));
      return;
    }
  }
  respond(successAnswer(msg));
});

/** ChannelBind (RFC 8656 sec 11): a channel number for one peer transport address, and its permission. */
import {
  Attr,
  CHANNEL_MAX,
  CHANNEL_MIN,
  decodeChannelNumber,
  decodeXorAddress,
  ErrorCode,
} from '../../stun/index.js';
import { portAllowed } from '../allocation.js';
import { TurnError } from '../errors.js';
import { errorAnswer, errorFor, keyOf, logDenied, onAllocation, successAnswer } from './context.js';

export const handleChannelBind = onAllocation((ctx, src, msg, a, respond) => {
  const cn = msg.get(Attr.CHANNEL_NUMBER);
  const number = cn === undefined ? undefined : decodeChannelNumber(msg, cn);
  if (number === undefined || number < CHANNEL_MIN || number > CHANNEL_MAX) {
    respond(errorAnswer(msg, ErrorCode.BAD_REQUEST, 'CHANNEL-NUMBER missing or out of range'));
    return;
  }
  const pa = msg.get(Attr.XOR_PEER_ADDRESS);
  const peer = pa === undefined ? undefined : decodeXorAddress(msg, pa);
  if (peer === undefined) {
    respond(errorAnswer(msg, ErrorCode.BAD_REQUEST, 'XOR-PEER-ADDRESS missing or malformed'));
    return;
  }
  if (peer.family !== a.family) {
    respond(errorAnswer(msg, ErrorCode.PEER_ADDRESS_FAMILY_MISMATCH));
    return;
  }
  if (peer.port === 0) {
    respond(errorAnswer(msg, ErrorCode.BAD_REQUEST, 'peer port 0'));
    return;
  }
  const table = ctx.table;
  const r = table.check(a, peer.address);
  if (r instanceof TurnError) {
    logDenied(ctx, src, a, peer, r);
    respond(errorFor(ctx, msg, r));
    return;
  }
  if (!portAllowed(r.ranges, r.blockedPorts, peer.port)) {
    const denied = new TurnError(ErrorCode.FORBIDDEN, 'no route to endpoint port');
    logDenied(ctx, src, a, peer, denied);
    respond(errorFor(ctx, msg, denied));
    return;
  }
  const ipKey = keyOf(peer);
  const ch = table.bindChannel(a, number, ipKey, peer.address, peer.port);
  if (ch instanceof TurnError) {
    respond(errorFor(ctx, msg, ch));
    return;
  }
  const p = table.permit(a, ipKey, peer.address, peer.family);
  if (p instanceof TurnError) {
    respond(errorFor(ctx, msg, p));
    return;
  }
  respond(successAnswer(msg));
});

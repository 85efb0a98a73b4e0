/** Allocate (RFC 8656 sec 7): a relay socket for the client, with EVEN-PORT and reservations. */
import {
  Attr,
  decodeAddressFamily,
  decodeEvenPort,
  decodeRequestedTransport,
  ErrorCode,
  Transport,
} from '../../stun/index.js';
import { TurnError } from '../errors.js';
import { errorAnswer, errorFor, type Handler, requestedLifetime, successAnswer } from './context.js';

export const handleAllocate: Handler = (ctx, src, msg, creds, respond) => {
  const listener = src.listener;
  const table = ctx.table;
  if (src.allocation() !== undefined) {
    respond(errorAnswer(msg, ErrorCode.ALLOCATION_MISMATCH));
    return;
  }
  if (table.isPending(listener, src.clientKey)) return; // a retransmission: the answer is on its way
  const rt = msg.get(Attr.REQUESTED_TRANSPORT);
  const transport = rt === undefined ? undefined : decodeRequestedTransport(msg, rt);
  if (transport === undefined) {
    respond(errorAnswer(msg, ErrorCode.BAD_REQUEST, 'REQUESTED-TRANSPORT missing or malformed'));
    return;
  }
  if (transport !== Transport.UDP) {
    respond(errorAnswer(msg, ErrorCode.UNSUPPORTED_TRANSPORT));
    return;
  }
  const tokenAttr = msg.get(Attr.RESERVATION_TOKEN);
  const famAttr = msg.get(Attr.REQUESTED_ADDRESS_FAMILY);
  const evenAttr = msg.get(Attr.EVEN_PORT);
  if (tokenAttr !== undefined && (famAttr !== undefined || evenAttr !== undefined)) {
    respond(
      errorAnswer(msg, ErrorCode.BAD_REQUEST, 'RESERVATION-TOKEN excludes EVEN-PORT and ADDRESS-FAMILY'),
    );
    return;
  }
  let token: Buffer | undefined;
  if (tokenAttr !== undefined) {
    if (tokenAttr.length !== 8) {
      respond(errorAnswer(msg, ErrorCode.BAD_REQUEST, 'RESERVATION-TOKEN must be 8 bytes'));
      return;
    }
    token = msg.buf.subarray(tokenAttr.offset, tokenAttr.offset + 8);
  }
  // A reserved port carries its family; otherwise IPv4 unless the client asks (RFC 8656 sec 7.2).
  let family: 4 | 6 = (token !== undefined ? table.reservationFamily(token) : undefined) ?? 4;
  if (famAttr !== undefined) {
    const f = decodeAddressFamily(msg, famAttr);
    if (f === undefined) {
      respond(errorAnswer(msg, ErrorCode.ADDRESS_FAMILY_NOT_SUPPORTED));
      return;
    }
    family = f;
  }
  const bindAddress = listener.relayBindAddress(family);
  if (bindAddress === undefined) {
    respond(errorAnswer(msg, ErrorCode.ADDRESS_FAMILY_NOT_SUPPORTED));
    return;
  }
  let even = false;
  let reserveNext = false;
  if (evenAttr !== undefined) {
    const r = decodeEvenPort(msg, evenAttr);
    if (r === undefined) {
      respond(errorAnswer(msg, ErrorCode.BAD_REQUEST, 'malformed EVEN-PORT'));
      return;
    }
    even = true;
    reserveNext = r;
  }
  const lifetimeS = requestedLifetime(msg, true);
  const refused = table.admit(creds.user, src.link.address, table.slotsFor(token, reserveNext));
  if (refused !== undefined) {
    respond(errorFor(ctx, msg, refused));
    return;
  }
  table
    .create(
      {
        listener,
        link: src.link,
        clientKey: src.clientKey,
        user: creds.user,
        username: creds.username,
        relayAddress: listener.relayAddress(family),
        lifetimeS,
        family,
        bindAddress,
        minPort: listener.minRelayPort,
        maxPort: listener.maxRelayPort,
        even,
        reserveNext,
        token,
      },
      src.clientKey,
    )
    .then(
      (a) => {
        if (!listener.isOpen() || src.isOpen?.() === false) {
          // The listener or connection closed (restart, stop) while the relay socket was being bound.
          table.remove(a, listener.isOpen() ? 'connection closed' : 'listener closed');
          return;
        }
        const b = successAnswer(msg)
          .addXorAddress(Attr.XOR_RELAYED_ADDRESS, { family, address: a.relayAddress, port: a.relayPort })
          .addUint32(Attr.LIFETIME, lifetimeS)
          .addXorAddress(Attr.XOR_MAPPED_ADDRESS, {
            family: src.link.family,
            address: src.link.address,
            port: src.link.port,
          });
        if (a.reservationToken !== undefined) b.addBuffer(Attr.RESERVATION_TOKEN, a.reservationToken);
        respond(b);
      },
      (e: unknown) => {
        if (e instanceof TurnError) {
          ctx.log.info(
            `allocation refused for user ${creds.user} on listener ${listener.name}: ${e.reason} (${e.code})`,
          );
          respond(errorFor(ctx, msg, e));
        } else {
          ctx.log.error(`allocation failed on listener ${listener.name}: ${(e as Error).message}`);
          respond(errorAnswer(msg, ErrorCode.SERVER_ERROR));
        }
      },
    )
    .catch((e: unknown) => ctx.log.error(`allocation answer failed: ${(e as Error).message}`));
};

/**
 * TURN URIs per RFC 7065, built from a listener of the dataplane config:
 * `turn:<host>:<port>?transport=udp|tcp`, and `turns:` for TLS (over TCP) and DTLS (over UDP).
 */
import { isIP } from 'node:net';
import { type ListenerProtocol, listenerTransport, turnScheme } from '../../contract/config/index.js';

export type TurnScheme = 'turn' | 'turns';

export interface TurnUri {
  readonly scheme: TurnScheme;
  readonly host: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
}

/** An address that names no particular host, so that clients cannot dial it. */
export function isUnspecifiedAddress(host: string): boolean {
  const h = host.trim();
  return h === '' || h === '0.0.0.0' || h === '::' || h === '[::]' || h.startsWith('$');
}

export function turnUri(protocol: ListenerProtocol, host: string, port: number): TurnUri {
  return { scheme: turnScheme(protocol), host, port, transport: listenerTransport(protocol) };
}

/** Renders a URI; IPv6 literals get brackets as in RFC 3986 host syntax. */
export function formatTurnUri(u: TurnUri): string {
  const host = isIP(u.host) === 6 ? `[${u.host}]` : u.host;
  return `${u.scheme}:${host}:${u.port}?transport=${u.transport}`;
}

import { describe, expect, it } from 'vitest';
import { formatTurnUri, isUnspecifiedAddress, turnUri } from '../../../runtime/ice/uri.js';

describe('TURN URIs (RFC 7065)', () => {
  it('renders turn: with the transport of each plain listener protocol', () => {
    expect(formatTurnUri(turnUri('TURN-UDP', '1.2.3.4', 3478))).toBe('turn:1.2.3.4:3478?transport=udp');
    expect(formatTurnUri(turnUri('TURN-TCP', '1.2.3.4', 3478))).toBe('turn:1.2.3.4:3478?transport=tcp');
  });

  it('renders turns: for TLS (over TCP) and DTLS (over UDP)', () => {
    expect(formatTurnUri(turnUri('TURN-TLS', 'turn.example.com', 443))).toBe(
      'turns:turn.example.com:443?transport=tcp',
    );
    expect(formatTurnUri(turnUri('TURN-DTLS', '1.2.3.4', 443))).toBe('turns:1.2.3.4:443?transport=udp');
  });

  it('brackets IPv6 literals', () => {
    expect(formatTurnUri(turnUri('TURN-UDP', '2001:db8::1', 3478))).toBe(
      'turn:[2001:db8::1]:3478?transport=udp',
    );
  });

  it('knows which addresses nobody can dial', () => {
    for (const a of ['', '0.0.0.0', '::', '$STUNNER_ADDR']) expect(isUnspecifiedAddress(a)).toBe(true);
    for (const a of ['10.0.0.1', 'turn.example.com', '::1']) expect(isUnspecifiedAddress(a)).toBe(false);
  });
});

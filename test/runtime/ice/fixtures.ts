/** Dataplane configs as the operator (and our constructs) render them, for the ICE tests. */
import {
  type StunnerConfig,
  type StunnerConfigInput,
  validateConfig,
} from '../../../contract/config/index.js';

const pem = (kind: string) =>
  Buffer.from(`-----BEGIN ${kind}-----\nAAAA\n-----END ${kind}-----\n`).toString('base64');
const CERT = pem('CERTIFICATE');
const KEY = pem('PRIVATE KEY');

export function config(input: StunnerConfigInput): StunnerConfig {
  const r = validateConfig(input, { env: {} });
  if (!r.ok) throw new Error(`fixture invalid: ${JSON.stringify(r.problems)}`);
  return r.config;
}

/** Gateway `media/udp-gw`: ephemeral auth, a TURN-UDP and a TURN-TCP listener. */
export const ephemeralGateway = (port = 3478) =>
  config({
    version: 'v1',
    admin: { name: 'media/udp-gw' },
    auth: { type: 'ephemeral', realm: 'stunner.l7mp.io', credentials: { secret: 'my-shared-secret' } },
    listeners: [
      {
        name: 'media/udp-gw/udp',
        protocol: 'TURN-UDP',
        address: '$STUNNER_ADDR',
        port,
        public_address: '1.2.3.4',
      },
      {
        name: 'media/udp-gw/tcp',
        protocol: 'TURN-TCP',
        address: '$STUNNER_ADDR',
        port,
        public_address: '1.2.3.4',
      },
    ],
  });

/** Gateway `games/tls-gw`: static auth, TURN-TLS and TURN-DTLS listeners, no public address. */
export const staticTlsGateway = () =>
  config({
    version: 'v1',
    admin: { name: 'games/tls-gw' },
    auth: { type: 'static', credentials: { username: 'user1', password: 'pass$1' } },
    listeners: [
      {
        name: 'games/tls-gw/tls',
        protocol: 'TURN-TLS',
        address: '$STUNNER_ADDR',
        port: 443,
        cert: CERT,
        key: KEY,
      },
      {
        name: 'games/tls-gw/dtls',
        protocol: 'TURN-DTLS',
        address: '$STUNNER_ADDR',
        port: 443,
        cert: CERT,
        key: KEY,
      },
    ],
  });

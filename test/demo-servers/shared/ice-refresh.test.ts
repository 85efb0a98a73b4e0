/**
 * The demo servers' ICE configuration source: it asks the ICE auth service with the filters from
 * the environment, and schedules the next request before the ephemeral credentials expire.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialExpiry, iceSourceFromEnv } from '../../../demo-servers/shared/ice.js';
import { IceAuthServer } from '../../../runtime/ice/server.js';
import { config as gatewayConfig } from '../../runtime/ice/fixtures.js';

// The real ICE auth service answers; the HTTP server in front of it only records the queries.
const service = new IceAuthServer();
service.setConfigs([
  gatewayConfig({
    version: 'v1',
    admin: { name: 'direct-call/udp-gateway' },
    auth: { type: 'ephemeral', realm: 'stunner.l7mp.io', credentials: { secret: 'a-shared-secret' } },
    listeners: [
      {
        name: 'direct-call/udp-gateway/udp-listener',
        protocol: 'TURN-UDP',
        address: '$STUNNER_ADDR',
        port: 3478,
        public_address: '192.0.2.1',
      },
    ],
  }),
]);
const queries: URLSearchParams[] = [];
const server = createServer((req, res) => {
  queries.push(new URL(req.url ?? '/', 'http://x').searchParams);
  service.handle(req, res);
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('the demo servers ICE source', () => {
  it('asks /ice with the namespace, gateway and listener from the environment, relay-only, for the user', async () => {
    const ice = iceSourceFromEnv({
      STUNNER_AUTH_URL: url,
      STUNNER_NAMESPACE: 'direct-call',
      STUNNER_GATEWAY: 'udp-gateway',
      STUNNER_LISTENER: 'udp-listener',
      ICE_TTL_SECONDS: '600',
    });
    const config = await ice.fetch('alice');
    expect(Object.fromEntries(queries.at(-1)!)).toEqual({
      service: 'turn',
      username: 'alice',
      ttl: '600',
      namespace: 'direct-call',
      gateway: 'udp-gateway',
      listener: 'udp-listener',
      iceTransportPolicy: 'relay',
    });
    expect(config.iceTransportPolicy).toBe('relay');
  });

  it('refreshes at 80% of the credentials remaining life, read from the ephemeral username', () => {
    const ice = iceSourceFromEnv({ STUNNER_AUTH_URL: url, ICE_TTL_SECONDS: '3600' });
    const now = 1_700_000_000_000;
    const config = {
      iceServers: [
        { urls: ['turn:a'], username: `${now / 1000 + 100}:bob`, credential: 'x' },
        { urls: ['turn:b'], username: `${now / 1000 + 50}:bob`, credential: 'x' },
      ],
      iceTransportPolicy: 'relay' as const,
    };
    expect(credentialExpiry(config)).toBe(now + 50_000);
    expect(ice.refreshInMs(config, now)).toBe(40_000);
    // static credentials: the requested TTL
    const fixed = { ...config, iceServers: [{ urls: ['turn:a'], username: 'user', credential: 'x' }] };
    expect(ice.refreshInMs(fixed, now)).toBe(2_880_000);
  });
});

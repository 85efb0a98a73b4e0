/** Hot reload of the admin endpoints: health and metrics move to their new address and port. */
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../contract/config/index.js';
import { createLogger } from '../../runtime/log/logger.js';
import { runStunnerd, type StunnerdProcess } from '../../runtime/process/stunnerd.js';
import { freePort, freeTcpPort, httpGet } from '../helpers/net.js';

const get = (port: number, path: string) =>
  httpGet(port, path).then(
    (r) => r.status,
    () => 'refused' as const,
  );

describe('admin endpoints across a reload', () => {
  let daemon: StunnerdProcess | undefined;
  afterAll(async () => {
    await daemon?.stop();
  });

  it('serves health and metrics on one port when they share it, and moves them on reload', async () => {
    const [turn, a, b] = [await freePort(), await freeTcpPort(), await freeTcpPort()];
    const config = (port: number) =>
      parseConfig({
        version: 'v1',
        admin: {
          healthcheck_endpoint: `http://127.0.0.1:${port}`,
          metrics_endpoint: `http://127.0.0.1:${port}/metrics`,
        },
        auth: { credentials: { username: 'u', password: 'p' } },
        listeners: [{ name: 'l', address: '127.0.0.1', port: turn }],
      });
    daemon = await runStunnerd({
      config: config(a),
      logger: createLogger('all:ERROR', () => {}),
      handleSignals: false,
      kubernetes: false,
    });
    expect(await get(a, '/ready')).toBe(200);
    expect(await get(a, '/metrics')).toBe(200);
    await daemon.reconfigure(config(b));
    expect(await get(b, '/ready')).toBe(200);
    expect(await get(b, '/metrics')).toBe(200);
    expect(await get(a, '/ready')).toBe('refused');
    expect(daemon.relay.listenerPort('l')).toBe(turn);
  });
});

/**
 * admin.threads: which Node versions get relay threads, how relay port ranges are sliced, and the
 * single-thread fallback where dgram has no reusePort (Node 20). The multi-thread path itself needs
 * Node >= 22.12: threads-relay.test.ts runs it on the pods' Node release.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../contract/config/index.js';
import {
  effectiveThreads,
  relaySlice,
  reusePortSupported,
  workerConfig,
} from '../../../runtime/relay/threads.js';
import { freePort } from '../../helpers/net.js';
import { startStunnerdInProcess } from '../../helpers/stunnerd.js';
import { TurnClient } from '../../helpers/turn-client.js';

describe('relay threads', () => {
  it('needs reusePort (Node >= 22.12)', () => {
    expect(reusePortSupported('20.20.2')).toBe(false);
    expect(reusePortSupported('22.11.0')).toBe(false);
    expect(reusePortSupported('22.12.0')).toBe(true);
    expect(reusePortSupported('24.1.0')).toBe(true);
    expect(effectiveThreads(4, '20.20.2')).toBe(1);
    expect(effectiveThreads(4, '22.12.0')).toBe(4);
    expect(effectiveThreads(1, '22.12.0')).toBe(1);
  });

  it('slices relay port ranges into disjoint parts covering the range', () => {
    const parts = [0, 1, 2].map((i) => relaySlice(40000, 40999, i, 3));
    expect(parts).toEqual([
      { min: 40000, max: 40332 },
      { min: 40333, max: 40665 },
      { min: 40666, max: 40999 },
    ]);
    expect(relaySlice(undefined, undefined, 1, 3)).toEqual({ min: undefined, max: undefined });
    // Too small to split: every thread uses the whole range.
    expect(relaySlice(5000, 5002, 1, 4)).toEqual({ min: 5000, max: 5002 });
  });

  it('gives workers only the UDP listeners, each with its slice', () => {
    const c = parseConfig({
      version: 'v1',
      admin: { threads: 2 },
      auth: { credentials: { username: 'u', password: 'p' } },
      listeners: [
        { name: 'u', protocol: 'TURN-UDP', port: 3478, min_relay_port: 10000, max_relay_port: 10999 },
        { name: 't', protocol: 'TURN-TCP', port: 3478 },
      ],
    });
    const w = workerConfig(c, 1, 2);
    expect(w.listeners.map((l) => [l.name, l.min_relay_port, l.max_relay_port])).toEqual([
      ['u', 10500, 10999],
    ]);
  });

  it('runs one thread when embedded (no worker entry registered) and still relays; stop() returns every fd', async () => {
    const port = await freePort();
    const fds = () => readdirSync('/proc/self/fd').length;
    const base = fds();
    const rt = await startStunnerdInProcess({
      version: 'v1',
      admin: { threads: 4, healthcheck_endpoint: '' },
      auth: { credentials: { username: 'u', password: 'p' } },
      listeners: [{ name: 'u', address: '127.0.0.1', port, routes: [] }],
    });
    try {
      expect(rt.daemon.threadCount()).toBe(1);
      // says why the 4 threads asked for are not there (Node 20: reusePort; 22.12+: embedded)
      expect(rt.lines.join('\n')).toMatch(
        /WARN.*admin\.threads is 4, but (Node\.js 20\.\S+ ignores dgram's reusePort|this embedded runtime has no relay worker entry).*: relaying on 1 thread/,
      );
      const c = await TurnClient.open({ host: '127.0.0.1', port, username: 'u', password: 'p' });
      await c.allocate();
      c.close();
      expect((rt.daemon.status() as { threads: number }).threads).toBe(rt.daemon.threadCount());
    } finally {
      await rt.stop();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(fds()).toBeLessThanOrEqual(base);
  });
});

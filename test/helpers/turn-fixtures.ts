/**
 * In-memory fixtures for tests below the daemon (no sockets): a config whose listener 'l' routes
 * to cluster 'c', a Perimeter loaded with it, and listener 'l' with a client link that records.
 */
import { parseConfig, type StunnerConfig } from '../../contract/config/index.js';
import { createLogger } from '../../runtime/log/logger.js';
import { Perimeter } from '../../runtime/policy/perimeter.js';
import type { ClientLink, ListenerContext } from '../../runtime/turn/hooks.js';
import { ListenerStats } from '../../runtime/turn/stats.js';

/** A parsed config whose one listener 'l' routes to one STATIC cluster 'c' of `endpoints`. */
export function routeConfig(endpoints: string[]): StunnerConfig {
  return parseConfig({
    version: 'v1',
    auth: { credentials: { username: 'u', password: 'p' } },
    listeners: [{ name: 'l', address: '127.0.0.1', routes: ['c'] }],
    clusters: [{ name: 'c', endpoints }],
  });
}

/** A silent Perimeter loaded with routeConfig(endpoints). */
export function routedPerimeter(endpoints: string[]): Perimeter {
  const perimeter = new Perimeter({
    logger: createLogger('all:WARN', () => {}).scope('p'),
    ownAddresses: [],
  });
  perimeter.load(routeConfig(endpoints));
  return perimeter;
}

/**
 * Listener 'l' and the UDP link of client 127.0.0.1:1 on it; every frame the link is asked to send
 * is appended, whole (ChannelData header + payload, Data indication with its padding), to `out`.
 */
export function listenerWithLink(out: Buffer[] = []): { listener: ListenerContext; link: ClientLink } {
  const stats = new ListenerStats();
  const link: ClientLink = {
    transport: 'udp',
    address: '127.0.0.1',
    port: 1,
    family: 4,
    stats,
    sendStun: (b) => out.push(b),
    sendChannelData: (channel, buf, start, len) => {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(channel, 0);
      h.writeUInt16BE(len, 2);
      out.push(Buffer.concat([h, buf.subarray(start, start + len)]));
    },
    sendParts: (h, p, pad) => out.push(Buffer.concat([h, p, Buffer.alloc(pad)])),
  };
  return { listener: { name: 'l', stats }, link };
}

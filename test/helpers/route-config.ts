/** The smallest routed setup for tests below the daemon: listener 'l' routed to cluster 'c'. */
import { parseConfig, type StunnerConfig } from '../../runtime/config/index.js';
import { createLogger } from '../../runtime/log/logger.js';
import { Perimeter } from '../../runtime/perimeter/perimeter.js';

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

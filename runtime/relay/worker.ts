/**
 * Body of a relay worker thread (see threads.ts): a Relay serving the UDP listeners with
 * reusePort, steered by the main thread (reconfigure, dynamic endpoints, drain, stop) and
 * reporting its counters once a second.
 */
import { createLogger } from '../log/logger.js';
import { Relay } from './relay.js';
import {
  type Claimed,
  type FromWorker,
  type ToWorker,
  type WorkerStats,
  workerInit,
  workerPort,
} from './threads.js';

function snapshot(d: Relay): WorkerStats {
  const listeners: Record<string, Record<string, number>> = {};
  for (const [name, s] of d.stats.listeners) listeners[name] = { ...s };
  const clusters: Record<string, Record<string, number>> = {};
  for (const [name, s] of d.stats.clusters) clusters[name] = { ...s };
  return {
    listeners,
    clusters,
    allocations: d.allocationCount(),
    allocationsTotal: d.stats.allocationsTotal,
  };
}

export async function runRelayWorker(): Promise<void> {
  const init = workerInit();
  const port = workerPort();
  const send = (m: FromWorker) => port.postMessage(m);
  const logger = createLogger(init.logLevel);
  let nextClaim = 1;
  const claims = new Map<number, (got: Claimed | undefined) => void>();
  const claimRemote = (token: string) =>
    new Promise<Claimed | undefined>((resolve) => {
      const id = nextClaim++;
      const timer = setTimeout(() => {
        claims.delete(id);
        resolve(undefined);
      }, 2000);
      claims.set(id, (got) => {
        clearTimeout(timer);
        resolve(got);
      });
      send({ type: 'claim', id, token });
    });
  let relay: Relay;
  try {
    relay = new Relay({
      config: init.config,
      logger,
      logLevelOverride: init.logLevel,
      worker: { index: init.index, count: init.count, nonceSecret: init.nonceSecret, claimRemote },
    });
    await relay.start();
  } catch (e) {
    send({ type: 'error', message: (e as Error).message });
    return;
  }
  const timer = setInterval(() => send({ type: 'stats', stats: snapshot(relay) }), 1000);
  send({ type: 'ready' });
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'reconfigure':
        relay.reconfigure(m.config).catch((e: Error) => logger.scope('stunnerd').error(e.message));
        break;
      case 'dynamic':
        relay.setDynamicEndpoints(m.cluster, m.ips);
        break;
      case 'drain':
        relay.drain();
        break;
      case 'release':
        send({ type: 'released', id: m.id, got: relay.releaseReservation(m.token) });
        break;
      case 'claimed':
        claims.get(m.id)?.(m.got);
        claims.delete(m.id);
        break;
      case 'stop':
        clearInterval(timer);
        void relay.stop().then(() => {
          send({ type: 'stopped' });
          port.close();
        });
        break;
    }
  });
}

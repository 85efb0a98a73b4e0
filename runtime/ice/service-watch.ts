/**
 * Follows the public address of every gateway the auth service answers for, by watching each
 * gateway's Service (named like the gateway, in its namespace: admin.name `ns/gateway`), and
 * hands it to the server's setPublicAddress hook: the load balancer's ingress address, else (a
 * NodePort Service, or a load balancer still pending) the first node's ExternalIP with the
 * NodePorts, as STUNner does. Watchers come and go with the configs.
 */
import type { StunnerConfig } from '../../contract/config/index.js';
import type { KubeApi } from '../cluster-watch/kube-api.js';
import { PublicAddressWatcher } from '../cluster-watch/public-address.js';
import type { ScopedLogger } from '../log/logger.js';

export interface GatewayServiceWatchOptions {
  readonly api: KubeApi;
  readonly log: ScopedLogger;
  /** Usually IceAuthServer.setPublicAddress. */
  readonly setPublicAddress: (
    gateway: string,
    address: string | undefined,
    ports?: ReadonlyMap<string, number>,
  ) => void;
  /**
   * Read Nodes for the NodePort fallback (a node's ExternalIP). Off, no Node is read, so the
   * service needs no cluster-wide Node read.
   * @default false
   */
  readonly nodeFallback?: boolean;
  /** @default 250 */
  readonly initialBackoffMs?: number;
  /** @default 30000 */
  readonly maxBackoffMs?: number;
}

export class GatewayServiceWatch {
  readonly #opts: GatewayServiceWatchOptions;
  readonly #watchers = new Map<string, PublicAddressWatcher>();

  constructor(opts: GatewayServiceWatchOptions) {
    this.#opts = opts;
  }

  /** Starts, updates and stops watchers to match the gateways of `configs`. */
  sync(configs: Iterable<StunnerConfig>): void {
    const wanted = new Map<string, StunnerConfig>();
    for (const c of configs) {
      const parts = c.admin.name.split('/');
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        this.#opts.log.debug(
          `config ${c.admin.name}: admin.name is not namespace/gateway; no Service to watch`,
        );
        continue;
      }
      wanted.set(c.admin.name, c);
    }
    for (const [gw, w] of this.#watchers) {
      if (wanted.has(gw)) continue;
      w.stop();
      this.#watchers.delete(gw);
      this.#opts.setPublicAddress(gw, undefined);
    }
    for (const [gw, c] of wanted) {
      const existing = this.#watchers.get(gw);
      if (existing) {
        existing.update(c.listeners);
        continue;
      }
      const [namespace, service] = gw.split('/') as [string, string];
      const w = new PublicAddressWatcher({
        api: this.#opts.api,
        namespace,
        service,
        // No node of its own: the NodePort fallback uses the first node with an ExternalIP.
        anyNode: this.#opts.nodeFallback ?? false,
        log: this.#opts.log,
        onChange: (a) => {
          try {
            this.#opts.setPublicAddress(gw, a?.address, a?.ports);
          } catch (e) {
            this.#opts.log.warn(`gateway ${gw}: ${(e as Error).message}`);
          }
        },
        ...(this.#opts.initialBackoffMs !== undefined && { initialBackoffMs: this.#opts.initialBackoffMs }),
        ...(this.#opts.maxBackoffMs !== undefined && { maxBackoffMs: this.#opts.maxBackoffMs }),
      });
      this.#watchers.set(gw, w);
      w.start(c.listeners);
    }
  }

  gateways(): string[] {
    return [...this.#watchers.keys()];
  }

  stop(): void {
    for (const w of this.#watchers.values()) w.stop();
    this.#watchers.clear();
  }
}

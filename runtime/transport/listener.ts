/**
 * What every listener shares: its config, the relay port range it hands out and the relay
 * addresses (relay-address.ts). UDP (udp/listener.ts) and streams (stream/listener.ts) add the
 * socket and the framing.
 */
import type { EventEmitter } from 'node:events';
import type { ListenerConfig, ListenerProtocol } from '../../contract/config/index.js';
import type { TurnListener } from '../turn/server.js';
import type { ListenerStats } from '../turn/stats.js';
import { type RelayAddressing, relayAddressing } from './relay-address.js';

export abstract class Listener implements TurnListener {
  readonly name: string;
  readonly protocol: ListenerProtocol;
  private current: ListenerConfig;
  private readonly addressing: RelayAddressing;

  constructor(
    config: ListenerConfig,
    readonly stats: ListenerStats,
  ) {
    this.current = config;
    this.name = config.name;
    this.protocol = config.protocol;
    this.addressing = relayAddressing(config.address);
  }

  get config(): ListenerConfig {
    return this.current;
  }

  get minRelayPort(): number | undefined {
    return this.current.min_relay_port;
  }

  get maxRelayPort(): number | undefined {
    return this.current.max_relay_port;
  }

  /**
   * Applies the parts of a new config that need no restart (the relay port range; a TLS listener
   * also its cert and key); the socket parts (protocol, address, port) need a new listener.
   * Returns whether anything changed.
   */
  reconfigure(config: ListenerConfig): boolean {
    const changed =
      config.min_relay_port !== this.current.min_relay_port ||
      config.max_relay_port !== this.current.max_relay_port;
    this.current = config;
    return changed;
  }

  relayBindAddress(family: 4 | 6): string | undefined {
    return this.addressing.bind(family);
  }

  relayAddress(family: 4 | 6): string {
    return this.addressing.report(family);
  }

  /** The bound port (useful with port 0 in tests). */
  abstract get port(): number;
  abstract isOpen(): boolean;
  abstract start(): Promise<void>;
  /** Closes the socket (stream listeners: and every connection). */
  abstract close(): Promise<void>;
}

/**
 * Do two listener configs need different sockets? A new TLS cert or key does not: the listener
 * swaps it in place (reconfigure), and open connections stay.
 */
export function sameSocket(a: ListenerConfig, b: ListenerConfig): boolean {
  return a.protocol === b.protocol && a.address === b.address && a.port === b.port;
}

/** Runs `bind` (a socket's bind or a server's listen, calling back once bound); rejects on its error. */
export function bound(target: EventEmitter, bind: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    target.once('error', onError);
    bind(() => {
      target.off('error', onError);
      resolve();
    });
  });
}

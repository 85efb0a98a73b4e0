/**
 * The gateways of one app: every StunnerGateway registers itself, and a route that names a
 * gateway is bound when that gateway registers, whether it was created before or after the route.
 */
import type { IConstruct } from 'constructs';
import { appRegistry } from '../core/registry.js';
import type { IStunnerGateway } from './types.js';

interface Waiting {
  readonly namespace: string;
  readonly name: string;
  readonly bind: (gateway: IStunnerGateway) => void;
}

/** The gateways of one app, by namespace and name. */
export class GatewayRegistry {
  static of(scope: IConstruct): GatewayRegistry {
    return appRegistry(scope, 'stunner-gitops.gateways', () => new GatewayRegistry());
  }

  readonly #gateways: IStunnerGateway[] = [];
  readonly #waiting: Waiting[] = [];

  private constructor() {}

  /** Adds a gateway, and binds the lookups waiting for its name. */
  register(gateway: IStunnerGateway): void {
    this.#gateways.push(gateway);
    const matching = this.#waiting.filter((w) => matches(gateway, w.namespace, w.name));
    for (const w of matching) this.#waiting.splice(this.#waiting.indexOf(w), 1);
    for (const w of matching) w.bind(gateway);
  }

  /** Calls `bind` with the gateway `namespace/name`: now if it is registered, else when it registers. */
  lookup(namespace: string, name: string, bind: (gateway: IStunnerGateway) => void): void {
    const found = this.#gateways.find((g) => matches(g, namespace, name));
    if (found !== undefined) bind(found);
    else this.#waiting.push({ namespace, name, bind });
  }

  /** Every registered gateway named `namespace/name`. */
  find(namespace: string, name: string): IStunnerGateway[] {
    return this.#gateways.filter((g) => matches(g, namespace, name));
  }

  /** Every registered gateway, in registration order. */
  get gateways(): readonly IStunnerGateway[] {
    return [...this.#gateways];
  }
}

function matches(g: IStunnerGateway, namespace: string, name: string): boolean {
  return g.namespace === namespace && g.gatewayName === name;
}

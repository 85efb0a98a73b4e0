/**
 * Public addresses of gateways, as a watcher learns them from the gateways' Services (load
 * balancer ingress, or node address + NodePort). A static `public_address` in a config wins over
 * these, as an explicit address does in STUNner.
 */
import { isIP } from 'node:net';
import { isDnsName, isPort } from '../../contract/checks.js';
import type { GatewayAddress } from '../cluster-watch/public-address.js';

/** The address and per-listener ports of a gateway, as cluster-watch/ discovers them. */
export type PublicAddress = GatewayAddress;

export interface PublicAddressLookup {
  get(gateway: string): PublicAddress | undefined;
}

export class PublicAddressBook implements PublicAddressLookup {
  readonly #byGateway = new Map<string, PublicAddress>();

  /**
   * Records (or with `undefined`, forgets) the public address of a gateway.
   * @param gateway `namespace/name` of the gateway, as its config's admin.name.
   * @param ports public port per listener name, when it differs from the listener port.
   */
  set(gateway: string, address: string | undefined, ports: ReadonlyMap<string, number> = new Map()): void {
    if (address === undefined || address === '') {
      this.#byGateway.delete(gateway);
      return;
    }
    if (isIP(address) === 0 && !isDnsName(address)) {
      throw new Error(`public address of ${gateway}: "${address}" is neither an IP address nor a DNS name`);
    }
    for (const [listener, port] of ports) {
      if (!isPort(port)) {
        throw new Error(`public port of ${gateway}/${listener}: ${port} is not a valid port`);
      }
    }
    this.#byGateway.set(gateway, { address, ports: new Map(ports) });
  }

  get(gateway: string): PublicAddress | undefined {
    return this.#byGateway.get(gateway);
  }
}

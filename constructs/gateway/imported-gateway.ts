/**
 * A gateway named by namespace and name (StunnerGateway.fromGatewayName): bound, through the
 * app's gateway registry, to the StunnerGateway of that name whether it is created before or
 * after the reference. What only the gateway knows is read from it once it exists.
 */
import { Construct } from 'constructs';
import type { ServiceType } from '../core/k8s-types.js';
import type { GatewayRuntime } from '../runtime-bundle/gateway-runtime.js';
import { GatewayRegistry } from './registry.js';
import type { TurnAuth } from './turn-auth.js';
import type { IMediaRoute, IStunnerGateway, ListenerPorts } from './types.js';

export class ImportedGateway extends Construct implements IStunnerGateway {
  readonly gatewayName: string;
  readonly namespace: string;
  #target: IStunnerGateway | undefined;

  constructor(scope: Construct, id: string, namespace: string, name: string) {
    super(scope, id);
    this.namespace = namespace;
    this.gatewayName = name;
    GatewayRegistry.of(this).lookup(namespace, name, (g) => {
      this.#target = g;
    });
  }

  /** Named like the gateway. */
  get serviceName(): string {
    return this.gatewayName;
  }
  get configMapName(): string {
    return `${this.gatewayName}-config`;
  }
  get serviceDnsName(): string {
    return this.#gateway.serviceDnsName;
  }
  get clusterDomain(): string {
    return this.#gateway.clusterDomain;
  }
  get selectorLabels(): Readonly<Record<string, string>> {
    return this.#gateway.selectorLabels;
  }
  get listenerNames(): readonly string[] {
    return this.#gateway.listenerNames;
  }
  get listeners(): readonly ListenerPorts[] {
    return this.#gateway.listeners;
  }
  get relayPortRanges(): readonly (readonly [number, number])[] {
    return this.#gateway.relayPortRanges;
  }
  get credentialsSecretName(): string {
    return this.#gateway.credentialsSecretName;
  }
  get auth(): TurnAuth | undefined {
    return this.#gateway.auth;
  }
  get runtime(): GatewayRuntime {
    return this.#gateway.runtime;
  }
  get serviceType(): ServiceType | undefined {
    return this.#gateway.serviceType;
  }
  get publicAddress(): string | undefined {
    return this.#gateway.publicAddress;
  }

  /** @internal */
  _whenBound(bind: (gateway: IStunnerGateway) => void): void {
    GatewayRegistry.of(this).lookup(this.namespace, this.gatewayName, bind);
  }

  /** @internal */
  _addRoute(route: IMediaRoute): void {
    this._whenBound((g) => g._addRoute(route));
  }

  /** @internal */
  _watchNamespace(namespace: string, services?: readonly string[]): void {
    this._whenBound((g) => g._watchNamespace(namespace, services));
  }

  get #gateway(): IStunnerGateway {
    if (this.#target === undefined)
      throw new Error(`no StunnerGateway "${this.namespace}/${this.gatewayName}" in this app`);
    return this.#target;
  }
}

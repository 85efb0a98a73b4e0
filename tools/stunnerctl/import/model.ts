/**
 * What `stunnerctl import` reads, decides and reports: the STUNner objects it knows, the plans
 * (gateways and routes as data, before any code is written), and what could not be mapped.
 */

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
export const GATEWAY_VERSIONS = ['v1', 'v1beta1', 'v1alpha2'];

export type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
};

export interface Unmapped {
  /** `Kind ns/name` or `Kind ns/name listener x`. */
  readonly what: string;
  readonly reason: string;
}

export interface ImportResult {
  /** The chart's TypeScript source. */
  readonly source: string;
  readonly unmapped: readonly Unmapped[];
  /** Things that mapped, but that a user should know (inline credentials, defaults taken). */
  readonly notes: readonly string[];
  /** `namespace/name` of the gateways and routes written. */
  readonly gateways: readonly string[];
  readonly routes: readonly string[];
}

export class ImportError extends Error {
  override name = 'ImportError';
}

/** What the mapping reports as it goes, in input order. */
export interface Report {
  readonly unmapped: Unmapped[];
  readonly notes: string[];
}

/** The input objects by kind (read.ts). */
export interface ImportInput {
  /** GatewayClasses by name. */
  readonly classes: ReadonlyMap<string, Obj>;
  /** GatewayConfigs by `namespace/name`. */
  readonly configs: ReadonlyMap<string, Obj>;
  /** Dataplanes (cluster-scoped) by name. */
  readonly dataplanes: ReadonlyMap<string, Obj>;
  readonly gateways: readonly Obj[];
  readonly routes: readonly Obj[];
  /** StaticServices by `namespace/name`. */
  readonly statics: ReadonlyMap<string, Obj>;
  /** Secrets by `namespace/name`. */
  readonly secrets: ReadonlyMap<string, Obj>;
}

export interface Listener {
  name: string;
  protocol: string;
  port: number;
  targetPort?: number;
  nodePort?: number;
  tlsSecret?: string;
}

/** The TurnAuth a gateway gets. */
export type AuthPlan =
  | { readonly kind: 'fromSecret'; readonly secret: string }
  | { readonly kind: 'ephemeral'; readonly secret: string }
  | { readonly kind: 'inlineEphemeral'; readonly sharedSecret: string }
  | { readonly kind: 'inline'; readonly username: string; readonly password: string };

export interface GatewayPlan {
  readonly ns: string;
  readonly name: string;
  /** StunnerGateway props besides auth and listeners, in the order they are written. */
  readonly props: Record<string, unknown>;
  readonly auth: AuthPlan;
  readonly listeners: Listener[];
}

export type Ports = { port?: number; endPort?: number };

export type BackendPlan =
  | { readonly kind: 'service'; readonly name: string; readonly namespace: string; readonly ports?: Ports }
  | { readonly kind: 'cidrs'; readonly prefixes: readonly string[]; readonly ports?: Ports };

export interface RoutePlan {
  readonly ns: string;
  readonly name: string;
  /** Parent gateways, each optionally narrowed to one of its listeners. */
  readonly parents: readonly { readonly gateway: GatewayPlan; readonly listener?: string }[];
  readonly headless: boolean;
  readonly backends: readonly BackendPlan[];
}

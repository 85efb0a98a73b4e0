/**
 * The answers of the auth service, computed from the loaded configs and the known public
 * addresses: one ICE server entry per matching gateway, with its URIs and credentials.
 */
import type { ListenerConfig, StunnerConfig } from '../../contract/config/index.js';
import type { IceConfiguration, IceServer, TurnCredentials } from '../../contract/ice-api.js';
import { credentialsFor } from './credentials.js';
import { gatewayKeyOf, listenerIdentity, matchesFilter } from './gateways.js';
import type { PublicAddressLookup } from './public-address.js';
import { DEFAULT_TTL } from './query.js';
import { formatTurnUri, isUnspecifiedAddress, turnUri } from './uri.js';

export type { IceConfiguration, IceServer, TurnCredentials };

export type IceResult =
  | { readonly ok: true; readonly servers: IceServer[] }
  | { readonly ok: false; readonly status: 404 | 500; readonly message: string };

/**
 * Where the answers' URIs point, besides each listener's own public address. STUNner's order:
 * the request's `public-addr` > STUNNER_PUBLIC_ADDR > the config's public_address > (ours) the
 * address the Service watcher learned > the listener's own address unless it is a wildcard.
 */
export interface PublicAddressOverrides {
  /** The request's `public-addr`. */
  readonly publicAddr?: string | undefined;
  /** STUNNER_PUBLIC_ADDR of the auth service: the same for every answer. */
  readonly envPublicAddr?: string | undefined;
}

/** The address and port clients should dial for a listener, or undefined if nothing dialable is known. */
export function publicEndpoint(
  config: StunnerConfig,
  l: ListenerConfig,
  addresses: PublicAddressLookup,
  overrides: PublicAddressOverrides = {},
): { host: string; port: number } | undefined {
  const watched = addresses.get(gatewayKeyOf(config));
  const short = listenerIdentity(config, l).listener;
  // The port follows the config, else what the watcher learned (NodePorts), else the listener's.
  const port = l.public_port ?? watched?.ports.get(short) ?? l.port;
  const override = overrides.publicAddr || overrides.envPublicAddr;
  if (override) return { host: override, port };
  if (l.public_address !== undefined && !isUnspecifiedAddress(l.public_address)) {
    return { host: l.public_address, port };
  }
  // A discovered address comes with the ports it is reached on (a node's address with the
  // NodePort the apiserver allocated), as the gateway's own status reports it: a rendered
  // public_port (the Service port, all a synth can know) pairs with a static public_address only.
  if (watched !== undefined) return { host: watched.address, port: watched.ports.get(short) ?? port };
  if (!isUnspecifiedAddress(l.address)) return { host: l.address, port: l.public_port ?? l.port };
  return undefined;
}

/** What an answer is built for: every field optional (the filters match everything when absent). */
export interface IceServersQuery extends PublicAddressOverrides {
  /** User id folded into ephemeral usernames. @default '' */
  readonly username?: string | undefined;
  /** Seconds ephemeral credentials stay valid. @default DEFAULT_TTL (86400) */
  readonly ttl?: number | undefined;
  readonly namespace?: string | undefined;
  readonly gateway?: string | undefined;
  readonly listener?: string | undefined;
}

/**
 * Builds the ICE servers for a query: the auth service's answers, reusable by any tool that has
 * the configs (`stunnerctl auth`). Wrap them as `{ iceServers, iceTransportPolicy }` for GET /ice,
 * or take the first as `{ username, password: credential, ttl, uris: urls }` for the TURN REST API.
 * @param configs the loaded configs, in a stable order
 * @param addresses public addresses a watcher learned (`{ get: () => undefined }` for none)
 * @param nowSeconds current unix time, for ephemeral usernames
 */
export function buildIceServers(
  configs: Iterable<StunnerConfig>,
  addresses: PublicAddressLookup,
  q: IceServersQuery,
  nowSeconds: number,
): IceResult {
  const filter = { namespace: q.namespace, gateway: q.gateway, listener: q.listener };
  const username = q.username ?? '';
  const ttl = q.ttl ?? DEFAULT_TTL;
  const servers: IceServer[] = [];
  const broken: string[] = [];
  let matched = 0;
  let undialable = 0;
  for (const config of configs) {
    const urls: string[] = [];
    for (const l of config.listeners) {
      if (!matchesFilter(listenerIdentity(config, l), filter)) continue;
      matched++;
      const ep = publicEndpoint(config, l, addresses, q);
      if (ep === undefined) {
        undialable++;
        continue;
      }
      const uri = formatTurnUri(turnUri(l.protocol, ep.host, ep.port));
      if (!urls.includes(uri)) urls.push(uri);
    }
    if (urls.length === 0) continue;
    const cred = credentialsFor(config.auth, username, ttl, nowSeconds);
    if (!cred.ok) {
      broken.push(`${gatewayKeyOf(config)}: ${cred.reason}`);
      continue;
    }
    servers.push({ urls, username: cred.username, credential: cred.password });
  }
  if (servers.length > 0) return { ok: true, servers };
  if (broken.length > 0)
    return { ok: false, status: 500, message: `no usable credentials: ${broken.join('; ')}` };
  if (matched > 0 && undialable === matched) {
    return {
      ok: false,
      status: 404,
      message: 'no public address is known yet for the matching listeners (waiting for the load balancer?)',
    };
  }
  return { ok: false, status: 404, message: `no listener matches ${describeFilter(q)}` };
}

function describeFilter(q: IceServersQuery): string {
  if (q.namespace === undefined) return 'any gateway';
  if (q.gateway === undefined) return `namespace "${q.namespace}"`;
  if (q.listener === undefined) return `gateway "${q.namespace}/${q.gateway}"`;
  return `listener "${q.namespace}/${q.gateway}/${q.listener}"`;
}

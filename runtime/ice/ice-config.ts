/**
 * The answers of the auth service, computed from the loaded configs and the known public
 * addresses: one ICE server entry per matching gateway, with its URIs and credentials.
 */
import type { ListenerConfig, StunnerConfig } from '../../contract/config/index.js';
import { credentialsFor } from './credentials.js';
import { gatewayKeyOf, listenerIdentity, matchesFilter } from './gateways.js';
import type { PublicAddressLookup } from './public-address.js';
import type { IceQuery, IceTransportPolicy } from './query.js';
import { formatTurnUri, isUnspecifiedAddress, turnUri } from './uri.js';

/** One entry of RTCConfiguration.iceServers. */
export interface IceServer {
  readonly urls: string[];
  readonly username: string;
  readonly credential: string;
}

/** What GET /ice answers: usable verbatim as an RTCPeerConnection configuration. */
export interface IceConfiguration {
  readonly iceServers: IceServer[];
  readonly iceTransportPolicy: IceTransportPolicy;
}

/** What GET /?service=turn answers (TURN REST API). */
export interface TurnCredentials {
  readonly username: string;
  readonly password: string;
  readonly ttl: number;
  readonly uris: string[];
}

export type IceResult =
  | { readonly ok: true; readonly servers: IceServer[] }
  | { readonly ok: false; readonly status: 404 | 500; readonly message: string };

/** The address and port clients should dial for a listener, or undefined if nothing dialable is known. */
export function publicEndpoint(
  config: StunnerConfig,
  l: ListenerConfig,
  addresses: PublicAddressLookup,
): { host: string; port: number } | undefined {
  const watched = addresses.get(gatewayKeyOf(config));
  const short = listenerIdentity(config, l).listener;
  if (l.public_address !== undefined && !isUnspecifiedAddress(l.public_address)) {
    return { host: l.public_address, port: l.public_port ?? l.port };
  }
  if (watched !== undefined) {
    return { host: watched.address, port: watched.ports.get(short) ?? l.public_port ?? l.port };
  }
  if (!isUnspecifiedAddress(l.address)) return { host: l.address, port: l.public_port ?? l.port };
  return undefined;
}

/**
 * Builds the ICE servers for a query.
 * @param configs the loaded configs, in a stable order
 * @param nowSeconds current unix time, for ephemeral usernames
 */
export function buildIceServers(
  configs: Iterable<StunnerConfig>,
  addresses: PublicAddressLookup,
  q: Pick<IceQuery, 'username' | 'ttl' | 'namespace' | 'gateway' | 'listener'>,
  nowSeconds: number,
): IceResult {
  const servers: IceServer[] = [];
  const broken: string[] = [];
  let matched = 0;
  let undialable = 0;
  for (const config of configs) {
    const urls: string[] = [];
    for (const l of config.listeners) {
      if (!matchesFilter(listenerIdentity(config, l), q)) continue;
      matched++;
      const ep = publicEndpoint(config, l, addresses);
      if (ep === undefined) {
        undialable++;
        continue;
      }
      const uri = formatTurnUri(turnUri(l.protocol, ep.host, ep.port));
      if (!urls.includes(uri)) urls.push(uri);
    }
    if (urls.length === 0) continue;
    const cred = credentialsFor(config.auth, q.username, q.ttl, nowSeconds);
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

function describeFilter(q: Pick<IceQuery, 'namespace' | 'gateway' | 'listener'>): string {
  if (q.namespace === undefined) return 'any gateway';
  if (q.gateway === undefined) return `namespace "${q.namespace}"`;
  if (q.listener === undefined) return `gateway "${q.namespace}/${q.gateway}"`;
  return `listener "${q.namespace}/${q.gateway}/${q.listener}"`;
}

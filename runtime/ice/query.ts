import { isDnsName } from '../../contract/checks.js';
import { ICE_AUTH_TTL_LIMIT } from '../../contract/defaults.js';
import { ipFamily } from '../../contract/ip-literal.js';

/**
 * Query validation of the auth service. Every problem is a 400 with a message that names the
 * parameter and says why; sizes are bounded before anything else is looked at.
 */

import { ICE_TRANSPORT_POLICIES, type IceTransportPolicy } from '../../contract/ice-api.js';

export { ICE_TRANSPORT_POLICIES, type IceTransportPolicy };

export const DEFAULT_TTL = 86_400;
/**
 * A year: longer-lived ephemeral credentials are static credentials in disguise (a 400). The
 * server lowers anything above its --max-ttl (default one day) to that.
 */
export const MAX_TTL = ICE_AUTH_TTL_LIMIT;
export const MAX_QUERY_LENGTH = 2048;
export const MAX_PARAM_LENGTH = 253;

export interface IceQuery {
  readonly service: 'turn';
  /** The user id folded into ephemeral usernames; empty when not given. */
  readonly username: string;
  readonly ttl: number;
  readonly namespace: string | undefined;
  readonly gateway: string | undefined;
  readonly listener: string | undefined;
  readonly iceTransportPolicy: IceTransportPolicy;
  /** `key`: the TURN REST API's API key, when given (checked by the server if it has one). */
  readonly key: string | undefined;
  /** `public-addr` (or STUNner's older `public-ip`): overrides the host in every returned URI. */
  readonly publicAddr: string | undefined;
}

export type QueryResult =
  | { readonly ok: true; readonly query: IceQuery }
  | { readonly ok: false; readonly message: string };

/** The parameters the service reads; any other is ignored, as STUNner's service does. */
export const ICE_QUERY_PARAMS = [
  'service',
  'username',
  'ttl',
  'namespace',
  'gateway',
  'listener',
  'iceTransportPolicy',
  'key',
  'public-addr',
  'public-ip',
] as const;
const KNOWN: ReadonlySet<string> = new Set(ICE_QUERY_PARAMS);
// Kubernetes object names (DNS-1123 labels/subdomains) and listener names as the operator writes them.
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i;
// A user id: printable, no ':' (a colon would let a client plant its own expiry into the
// ephemeral username, whose timestamp may sit in any ':'-separated position).
const USER_ID = /^[^\x00-\x20\x7f:]+$/;
const TTL = /^[0-9]{1,10}$/;

/** An IP address or DNS name a client can dial (what `public-addr` and STUNNER_PUBLIC_ADDR take). */
export function isHost(s: string): boolean {
  return ipFamily(s) !== 0 || isDnsName(s);
}

function bad(message: string): QueryResult {
  return { ok: false, message };
}

/** Validates the raw query string (without the leading '?'). */
export function parseIceQuery(rawQuery: string): QueryResult {
  if (rawQuery.length > MAX_QUERY_LENGTH) {
    return bad(`query is ${rawQuery.length} characters long; at most ${MAX_QUERY_LENGTH} are accepted`);
  }
  const params = new URLSearchParams(rawQuery);
  const seen = new Map<string, string>();
  for (const [key, value] of params) {
    if (!KNOWN.has(key)) continue; // unknown parameters are ignored, as STUNner's service does
    if (seen.has(key)) return bad(`parameter "${key}" is given more than once`);
    if (value.length > MAX_PARAM_LENGTH) {
      return bad(
        `parameter "${key}" is ${value.length} characters long; at most ${MAX_PARAM_LENGTH} are accepted`,
      );
    }
    seen.set(key, value);
  }

  const service = seen.get('service');
  if (service === undefined) return bad('parameter "service" is required and must be "turn"');
  if (service !== 'turn') return bad(`parameter "service" is ${JSON.stringify(service)}; it must be "turn"`);

  const username = seen.get('username') ?? '';
  if (username !== '' && !USER_ID.test(username)) {
    return bad('parameter "username" must be printable text without spaces or ":"');
  }

  let ttl = DEFAULT_TTL;
  const rawTtl = seen.get('ttl');
  if (rawTtl !== undefined) {
    if (!TTL.test(rawTtl)) return bad(`parameter "ttl" is ${JSON.stringify(rawTtl)}; expected whole seconds`);
    ttl = Number(rawTtl);
    if (ttl < 1 || ttl > MAX_TTL) return bad(`parameter "ttl" is ${ttl}; expected 1 to ${MAX_TTL} seconds`);
  }

  const names: Record<'namespace' | 'gateway' | 'listener', string | undefined> = {
    namespace: undefined,
    gateway: undefined,
    listener: undefined,
  };
  for (const key of ['namespace', 'gateway', 'listener'] as const) {
    const v = seen.get(key);
    if (v === undefined) continue;
    if (!NAME.test(v))
      return bad(`parameter "${key}" is ${JSON.stringify(v)}; expected a Kubernetes object name`);
    names[key] = v;
  }
  if (names.gateway !== undefined && names.namespace === undefined) {
    return bad('parameter "gateway" needs "namespace" too');
  }
  if (names.listener !== undefined && (names.namespace === undefined || names.gateway === undefined)) {
    return bad('parameter "listener" needs "namespace" and "gateway" too');
  }

  const policy = seen.get('iceTransportPolicy') ?? 'all';
  if (!(ICE_TRANSPORT_POLICIES as readonly string[]).includes(policy)) {
    return bad(
      `parameter "iceTransportPolicy" is ${JSON.stringify(policy)}; use one of ${ICE_TRANSPORT_POLICIES.join(', ')}`,
    );
  }

  const key = seen.get('key');
  if (key !== undefined && (key === '' || !/^[\x21-\x7e]+$/.test(key))) {
    return bad('parameter "key" must be printable text without spaces');
  }
  if (seen.has('public-addr') && seen.has('public-ip')) {
    return bad('parameter "public-ip" is the older name of "public-addr"; give one of them, not both');
  }
  const publicAddr = seen.get('public-addr') ?? seen.get('public-ip');
  if (publicAddr !== undefined && !isHost(publicAddr)) {
    return bad(
      `parameter "${seen.has('public-addr') ? 'public-addr' : 'public-ip'}" is ${JSON.stringify(publicAddr)}; expected an IP address or a DNS name`,
    );
  }

  return {
    ok: true,
    query: {
      key,
      publicAddr,
      service: 'turn',
      username,
      ttl,
      namespace: names.namespace,
      gateway: names.gateway,
      listener: names.listener,
      iceTransportPolicy: policy as IceTransportPolicy,
    },
  };
}

import { isDnsName, MAX_PORT, prefixLengthProblem } from '../checks.js';
import { ipFamily as isIP } from '../ip-literal.js';
import { quote } from './quote.js';

/** A cluster endpoint, parsed: an IP prefix or a DNS name, with an optional port range. */
export interface Endpoint {
  /** IP address (prefix base) or DNS name, as written. */
  readonly host: string;
  /** 4 or 6 for IP endpoints, 0 for DNS names. */
  readonly family: 0 | 4 | 6;
  /** Prefix length; the full address length when no `/len` was given. Undefined for DNS names. */
  readonly prefix: number | undefined;
  readonly portMin: number;
  readonly portMax: number;
}

/** Any port, when an endpoint carries no `:<lo-hi>` suffix. */
export const ANY_PORT_MIN = 0;
export const ANY_PORT_MAX = MAX_PORT;

// STUNner's v1 syntax for a port range: `<host>:<lo-hi>`.
const PORT_RANGE = /^(.*):<([0-9]+)-([0-9]+)>$/;

/**
 * Parses one endpoint. Returns the reason as a string when it is malformed, so that callers can
 * attach their own path to it.
 */
export function parseEndpoint(raw: string, kind: 'STATIC' | 'STRICT_DNS'): Endpoint | string {
  let host = raw.trim();
  let portMin = ANY_PORT_MIN;
  let portMax = ANY_PORT_MAX;
  const range = PORT_RANGE.exec(host);
  if (range) {
    host = range[1]!;
    portMin = Number(range[2]);
    portMax = Number(range[3]);
    if (portMin > MAX_PORT || portMax > MAX_PORT)
      return `port range <${range[2]}-${range[3]}> exceeds ${MAX_PORT}`;
    if (portMin > portMax) return `port range <${range[2]}-${range[3]}> is empty (low > high)`;
  } else if (/:<.*>$/.test(host)) {
    return `${quote(raw)} has a malformed port range, expected <host>:<lo-hi>`;
  }
  // An IP literal in a STRICT_DNS cluster (e.g. `$STUNNER_ADDR` on an IPv6 pod) is taken as is.
  if (kind === 'STRICT_DNS' && isIP(host.split('/')[0]!) === 0) {
    if (!isDnsName(host)) return `${quote(host)} is not a valid DNS name`;
    return { host, family: 0, prefix: undefined, portMin, portMax };
  }
  const slash = host.indexOf('/');
  const addr = slash < 0 ? host : host.slice(0, slash);
  const family = isIP(addr);
  if (family === 0) {
    return isDnsName(addr)
      ? `${quote(addr)} is a DNS name, which needs cluster type STRICT_DNS`
      : `${quote(addr)} is not a valid IP address`;
  }
  let prefix = family === 4 ? 32 : 128;
  if (slash >= 0) {
    const len = host.slice(slash + 1);
    const why = prefixLengthProblem(len, family as 4 | 6);
    if (why) return why;
    prefix = Number(len);
  }
  return { host: addr, family: family as 4 | 6, prefix, portMin, portMax };
}

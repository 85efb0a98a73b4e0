/**
 * The syntax checks both sides make of what crosses the YAML: ports, CIDR prefixes, DNS names and
 * Kubernetes object names. The constructs fail synth with them, the runtime and the tools refuse
 * input with them; each caller words its own message around the answer.
 */
import { ipFamily } from './ip-literal.js';

export const MIN_PORT = 1;
export const MAX_PORT = 65535;

/** A TCP or UDP port: a whole number from 1 to 65535. */
export function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= MIN_PORT && n <= MAX_PORT;
}

/** A port written in decimal digits (a flag, a URL), or undefined. */
export function parsePort(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return isPort(n) ? n : undefined;
}

/** Why `len` is not a prefix length of an IPv`family` address, or undefined. */
export function prefixLengthProblem(len: string, family: 4 | 6): string | undefined {
  if (!/^[0-9]{1,3}$/.test(len) || Number(len) > (family === 4 ? 32 : 128))
    return `"/${len}" is not a valid IPv${family} prefix length`;
  return undefined;
}

/** Why `c` is neither an IP address nor a CIDR prefix (`addr/len`), or undefined. */
export function cidrProblem(c: string): string | undefined {
  const [addr, len, extra] = c.split('/');
  const family = ipFamily(addr ?? '');
  if (extra !== undefined || family === 0) return `"${c}" is not an IP address or CIDR prefix`;
  return len === undefined ? undefined : prefixLengthProblem(len, family);
}

/** An IP address as a one-address prefix (`/32`, `/128`); a prefix as is. */
export function asCidr(c: string): string {
  if (c.includes('/')) return c;
  return ipFamily(c) === 6 ? `${c}/128` : `${c}/32`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/i;

/** A DNS name a client or resolver can look up (RFC 1123 labels, an optional trailing dot). */
export function isDnsName(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name.split('.').every((label) => DNS_LABEL.test(label));
}

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Why `name` is not a DNS-1035 label (Service and port names), or undefined when it is. */
export function dns1035Problem(name: string, maxLength = 63): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > maxLength) return `"${name}" is longer than ${maxLength} characters`;
  if (!DNS_1035_LABEL.test(name))
    return `"${name}" must be lowercase letters, digits and '-', start with a letter and end with a letter or digit`;
  return undefined;
}

/** Why `name` is not a DNS-1123 label (namespaces), or undefined when it is. */
export function dns1123Problem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 63) return `"${name}" is longer than 63 characters`;
  if (!DNS_1123_LABEL.test(name))
    return `"${name}" must be lowercase letters, digits and '-', and start and end with a letter or digit`;
  return undefined;
}

/** Why `name` is not a DNS-1123 subdomain (most object names: Secrets, ConfigMaps), or undefined. */
export function dns1123SubdomainProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 253 || !DNS_1123_SUBDOMAIN.test(name))
    return `"${name}" is not a valid object name (lowercase letters, digits, '-' and '.')`;
  return undefined;
}

/** The subdomain syntax alone, without the length limit: a Secret's name as the sources check it. */
export function isDns1123Subdomain(name: string): boolean {
  return DNS_1123_SUBDOMAIN.test(name);
}

/**
 * Fuzz target: the ICE auth service's query parser (runtime/ice/query.ts).
 *
 * Even first byte: the rest is the raw query string (UTF-8). Odd: a query assembled from known
 * and unknown parameters with fuzz-chosen values, in fuzz-chosen encodings. Properties:
 * - parseIceQuery never throws and takes bounded time (MAX_QUERY_LENGTH is checked first);
 * - ok: every field is within its documented domain, and the query re-serialized with
 *   URLSearchParams parses to the same query (round trip);
 * - not ok: one short, single-line message that names a parameter or the query.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  ICE_QUERY_PARAMS,
  ICE_TRANSPORT_POLICIES,
  type IceQuery,
  MAX_PARAM_LENGTH,
  MAX_QUERY_LENGTH,
  MAX_TTL,
  parseIceQuery,
} from '../runtime/ice/query.js';
import { check, show } from './engine/check.js';
import { FuzzInput } from './engine/input.js';

// Every parameter the parser knows (so a new one is fuzzed too), and one it must ignore.
const PARAMS = [...ICE_QUERY_PARAMS, 'x'];
const VALUES = [
  'turn',
  'stun',
  '',
  'all',
  'relay',
  'public',
  'stunner',
  'udp-gateway',
  'udp-listener',
  'alice',
  'a:b',
  '0',
  '1',
  '86400',
  String(MAX_TTL),
  String(MAX_TTL + 1),
  '99999999999',
  '-1',
  '1e3',
  'Ünïcode',
  'a'.repeat(MAX_PARAM_LENGTH),
  'a'.repeat(MAX_PARAM_LENGTH + 1),
  '%00',
  '%',
  '+',
];

function assembled(inp: FuzzInput): string {
  const parts: string[] = [];
  for (let n = inp.int(10); n >= 0; n--) {
    const key = inp.pick(PARAMS);
    const value = inp.bool() ? inp.pick(VALUES) : inp.bytes(inp.int(20)).toString('utf8');
    const enc = inp.int(3);
    parts.push(
      enc === 0
        ? `${key}=${encodeURIComponent(value)}`
        : enc === 1
          ? `${key}=${value}`
          : inp.bool()
            ? key
            : `=${value}`,
    );
  }
  return parts.join(inp.bool() ? '&' : ';');
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i;

function checkQuery(q: IceQuery): void {
  check(q.service === 'turn', 'service');
  check(Number.isInteger(q.ttl) && q.ttl >= 1 && q.ttl <= MAX_TTL, `ttl ${q.ttl}`);
  check(!q.username.includes(':') && q.username.length <= MAX_PARAM_LENGTH, `username ${show(q.username)}`);
  for (const v of [q.namespace, q.gateway, q.listener]) {
    if (v !== undefined) check(NAME.test(v) && v.length <= MAX_PARAM_LENGTH, `name ${show(v)}`);
  }
  check(q.gateway === undefined || q.namespace !== undefined, 'gateway without namespace');
  check(q.listener === undefined || q.gateway !== undefined, 'listener without gateway');
  check((ICE_TRANSPORT_POLICIES as readonly string[]).includes(q.iceTransportPolicy), 'policy');
}

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const raw =
    (data[0]! & 1) === 0 ? data.subarray(1).toString('utf8') : assembled(new FuzzInput(data.subarray(1)));
  const r = parseIceQuery(raw);
  if (!r.ok) {
    check(typeof r.message === 'string' && r.message.length > 0, 'empty message');
    check(r.message.length <= 2 * MAX_PARAM_LENGTH + 200, () => `message of ${r.message.length} characters`);
    check(!r.message.includes('\n'), 'multi-line message');
    check(/parameter "|query/.test(r.message), () => `message names nothing: ${show(r.message)}`);
    if (raw.length > MAX_QUERY_LENGTH)
      check(r.message.startsWith('query is'), 'oversize query not refused first');
    return;
  }
  checkQuery(r.query);
  const q = r.query;
  const again = new URLSearchParams({
    service: q.service,
    ttl: String(q.ttl),
    iceTransportPolicy: q.iceTransportPolicy,
  });
  if (q.username !== '') again.set('username', q.username);
  if (q.namespace !== undefined) again.set('namespace', q.namespace);
  if (q.gateway !== undefined) again.set('gateway', q.gateway);
  if (q.listener !== undefined) again.set('listener', q.listener);
  if (q.key !== undefined) again.set('key', q.key);
  if (q.publicAddr !== undefined) again.set('public-addr', q.publicAddr);
  const r2 = parseIceQuery(again.toString());
  check(r2.ok && isDeepStrictEqual(r2.query, q), () => `round trip: ${show(raw)} -> ${show(r2)}`);
}

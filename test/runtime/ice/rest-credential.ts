/**
 * Independent checks of the credentials the ICE auth service hands out. Everything here is
 * computed with node:crypto from the RFCs, never with the runtime's helpers, so that a change to
 * how the runtime mints or verifies credentials shows up as a difference:
 *   - STUNner's TURN REST format: username `<expiry>:<user>`, password
 *     base64(HMAC-SHA1(secret, username));
 *   - RFC 8489's long-term key MD5(username ":" realm ":" password), used for a hand-encoded
 *     MESSAGE-INTEGRITY that the relay must accept (in process, or over UDP to a running relay).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { expect } from 'vitest';
import type { AuthConfig } from '../../../contract/config/index.js';
import { createAuthenticator } from '../../../runtime/policy/auth/authenticator.js';
import { isParseError, parseStunMessage, verifyIntegrity } from '../../../runtime/stun/index.js';

const MAGIC = 0x2112a442;
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ALLOCATE_ERROR = 0x0113;
const A = { USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, REALM: 0x0014, NONCE: 0x0015 };
const REQUESTED_TRANSPORT = 0x0019;

export interface RestCredential {
  readonly username: string;
  readonly credential: string;
}

/** base64(HMAC-SHA1(secret, username)): the TURN REST API password. */
export function restPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

/** RFC 8489 sec 9.2.2: MD5(username ":" realm ":" password). */
export function rfc8489Key(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

/**
 * Asserts STUNner's REST format on an ephemeral credential: the username is exactly
 * `<expiry>:<user>` and the password is base64(HMAC-SHA1(secret, username)).
 */
export function expectRestCredential(
  c: RestCredential,
  want: { readonly secret: string; readonly user: string; readonly expiry: number },
): void {
  expect(c.username).toBe(`${want.expiry}:${want.user}`);
  expect(c.username).toMatch(/^[0-9]+:[^:]*$/);
  expect(c.credential).toBe(restPassword(want.secret, c.username));
}

/**
 * For credentials minted on the real clock: the expiry is now + `ttl` (within 5 s), then
 * expectRestCredential. Returns the expiry.
 */
export function expectMintedNow(
  c: RestCredential,
  want: { readonly secret: string; readonly user: string; readonly ttl: number },
): number {
  const expiry = Number(c.username.slice(0, c.username.indexOf(':')));
  expect(Math.abs(expiry - (Date.now() / 1000 + want.ttl)), `expiry of ${c.username}`).toBeLessThan(5);
  expectRestCredential(c, { secret: want.secret, user: want.user, expiry });
  return expiry;
}

function attr(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

function header(type: number, bodyLength: number, txid: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(bodyLength, 2);
  h.writeUInt32BE(MAGIC, 4);
  txid.copy(h, 8);
  return h;
}

/**
 * An Allocate request (REQUESTED-TRANSPORT UDP), hand-encoded: with `auth`, it carries USERNAME,
 * REALM, NONCE and a MESSAGE-INTEGRITY keyed with rfc8489Key (RFC 8489 sec 14.5: the HMAC covers
 * the message up to the attribute, with the length field counting it).
 */
export function allocateRequest(auth?: {
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly nonce: string;
}): Buffer {
  const txid = randomBytes(12);
  const attrs = [attr(REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]))];
  if (auth === undefined) {
    const body = Buffer.concat(attrs);
    return Buffer.concat([header(ALLOCATE_REQUEST, body.length, txid), body]);
  }
  attrs.push(
    attr(A.USERNAME, Buffer.from(auth.username, 'utf8')),
    attr(A.REALM, Buffer.from(auth.realm, 'utf8')),
    attr(A.NONCE, Buffer.from(auth.nonce, 'utf8')),
  );
  const body = Buffer.concat(attrs);
  const covered = Buffer.concat([header(ALLOCATE_REQUEST, body.length + 24, txid), body]);
  const mac = createHmac('sha1', rfc8489Key(auth.username, auth.realm, auth.password))
    .update(covered)
    .digest();
  return Buffer.concat([covered, attr(A.MESSAGE_INTEGRITY, mac)]);
}

/**
 * The credential passes the relay's own check of a request's MESSAGE-INTEGRITY: the relay
 * authenticator built from the gateway's auth config looks the username up, and its key verifies
 * a request this file signed with the RFC 8489 key.
 */
export function expectRelayAccepts(c: RestCredential, auth: AuthConfig, nowMs: number): void {
  const lookup = createAuthenticator(auth, () => nowMs).lookup(c.username);
  expect(lookup.ok, `relay lookup of ${c.username}`).toBe(true);
  if (!lookup.ok) return;
  const req = allocateRequest({
    username: c.username,
    realm: auth.realm,
    password: c.credential,
    nonce: 'n',
  });
  const msg = parseStunMessage(req);
  if (isParseError(msg)) throw new Error(`hand-encoded request does not parse: ${msg.error}`);
  expect(verifyIntegrity(msg, lookup.key), 'MESSAGE-INTEGRITY with the RFC 8489 key').toBe(true);
  expect(lookup.key.equals(rfc8489Key(c.username, auth.realm, c.credential))).toBe(true);
}

/** The attributes of a STUN response, by type (first occurrence), read without the runtime's codec. */
function attributes(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  const end = Math.min(buf.length, 20 + buf.readUInt16BE(2));
  let at = 20;
  while (at + 4 <= end) {
    const type = buf.readUInt16BE(at);
    const len = buf.readUInt16BE(at + 2);
    if (at + 4 + len > end) break;
    if (!out.has(type)) out.set(type, buf.subarray(at + 4, at + 4 + len));
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return out;
}

/**
 * Allocates over UDP at a running relay with the hand-encoded requests: an unauthenticated
 * Allocate for the 401's REALM and NONCE, then one signed with the RFC 8489 key. Returns 200 on
 * success, else the error code. Every wait is bounded (2 s per request).
 */
export async function allocateAt(
  host: string,
  port: number,
  c: { readonly username: string; readonly password: string },
): Promise<number> {
  const s = createSocket('udp4');
  s.on('error', () => {});
  const ask = (req: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer from ${host}:${port} within 2 s`)), 2000);
      s.once('message', (m) => {
        clearTimeout(t);
        resolve(m);
      });
      s.send(req, port, host);
    });
  try {
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const challenge = attributes(await ask(allocateRequest()));
    const realm = challenge.get(A.REALM)?.toString('utf8');
    const nonce = challenge.get(A.NONCE)?.toString('utf8');
    if (realm === undefined || nonce === undefined) throw new Error('the 401 carries no REALM or NONCE');
    const answer = await ask(allocateRequest({ username: c.username, realm, password: c.password, nonce }));
    const type = answer.readUInt16BE(0);
    if (type === ALLOCATE_SUCCESS) return 200;
    if (type !== ALLOCATE_ERROR) throw new Error(`unexpected answer type 0x${type.toString(16)}`);
    const code = attributes(answer).get(A.ERROR_CODE);
    return code === undefined ? 0 : (code[2]! & 0x07) * 100 + code[3]!;
  } finally {
    s.close();
  }
}

/**
 * Credentials handed out with an ICE configuration: static ones are passed through, ephemeral
 * ones are minted per request with the TURN REST API scheme (runtime/policy/auth has the helpers the
 * relay verifies with, so that both sides agree by construction).
 */

import type { AuthConfig } from '../../contract/config/index.js';
import { ephemeralPassword, ephemeralUsername } from '../policy/auth/authenticator.js';

export type CredentialResult =
  | { readonly ok: true; readonly username: string; readonly password: string }
  | { readonly ok: false; readonly reason: string };

/**
 * @param userid user id to fold into an ephemeral username ('' for none)
 * @param ttl seconds the ephemeral credential stays valid
 * @param nowSeconds current unix time
 */
export function credentialsFor(
  auth: AuthConfig,
  userid: string,
  ttl: number,
  nowSeconds: number,
): CredentialResult {
  const c = auth.credentials;
  if (auth.type === 'static') {
    if (c.username === undefined || c.password === undefined) {
      return { ok: false, reason: 'static auth without username and password' };
    }
    return { ok: true, username: c.username, password: c.password };
  }
  if (c.secret === undefined || c.secret === '') {
    return { ok: false, reason: 'ephemeral auth without a shared secret' };
  }
  const username = ephemeralUsername(userid, ttl, nowSeconds);
  return { ok: true, username, password: ephemeralPassword(c.secret, username) };
}

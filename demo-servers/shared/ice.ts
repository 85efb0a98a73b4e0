/**
 * The ICE configuration a demo page gets: asked from the ICE auth service (`GET /ice`) with the
 * filters from the environment (namespace, gateway, listener, as in STUNner's direct-call
 * tutorial), and when it must be asked again: before the ephemeral TURN credentials in it expire.
 */
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { getIceConfig, type IceConfiguration, type IceTransportPolicy } from '../../runtime/ice/client.js';
import { envNumber } from './env.js';

export type { IceConfiguration };

export interface IceSource {
  /** A fresh configuration for `user` (folded into the ephemeral username). */
  fetch(user: string): Promise<IceConfiguration>;
  /** Milliseconds until `config` should be replaced: 80% of its credentials' remaining life. */
  refreshInMs(config: IceConfiguration, now?: number): number;
}

export function iceSourceFromEnv(env: NodeJS.ProcessEnv = process.env): IceSource {
  const url = env[DemoEnv.ICE_AUTH_URL];
  if (!url) throw new Error(`${DemoEnv.ICE_AUTH_URL} is not set: the ICE auth service's URL`);
  const opt = (name: string) => (env[name] ? env[name] : undefined);
  const ttl = envNumber(DemoEnv.ICE_TTL_SECONDS, DEMO_DEFAULTS.iceTtlSeconds, env);
  const policy = (opt(DemoEnv.ICE_TRANSPORT_POLICY) ?? 'relay') as IceTransportPolicy;
  const filters = {
    ...(opt(DemoEnv.ICE_NAMESPACE) ? { namespace: opt(DemoEnv.ICE_NAMESPACE) } : {}),
    ...(opt(DemoEnv.ICE_GATEWAY) ? { gateway: opt(DemoEnv.ICE_GATEWAY) } : {}),
    ...(opt(DemoEnv.ICE_LISTENER) ? { listener: opt(DemoEnv.ICE_LISTENER) } : {}),
  };
  return {
    fetch: (user) => getIceConfig({ url, ...filters, username: user, ttl, iceTransportPolicy: policy }),
    refreshInMs: (config, now = Date.now()) => {
      const expiry = credentialExpiry(config) ?? now + ttl * 1000;
      return Math.max(1000, Math.floor((expiry - now) * 0.8));
    },
  };
}

/**
 * When the earliest credential in `config` expires (ms since the epoch): a TURN REST username
 * is `<expiry-unix-seconds>:<user>`. Undefined for static credentials.
 */
export function credentialExpiry(config: IceConfiguration): number | undefined {
  let earliest: number | undefined;
  for (const s of config.iceServers) {
    const field = (s.username ?? '').split(':').find((f) => /^\d{9,}$/.test(f));
    if (field === undefined) continue;
    const ms = Number(field) * 1000;
    earliest = earliest === undefined ? ms : Math.min(earliest, ms);
  }
  return earliest;
}

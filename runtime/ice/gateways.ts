/**
 * Which gateway and listener each config entry is, as the operator names them: admin.name is
 * `namespace/gateway`, a listener is `namespace/gateway/listener`. Filtering by the query happens here.
 */
import type { ListenerConfig, StunnerConfig } from '../../contract/config/index.js';

export interface ListenerIdentity {
  readonly namespace: string;
  readonly gateway: string;
  readonly listener: string;
}

/** `namespace/gateway` of a config, from admin.name; a bare name has an empty namespace. */
export function gatewayKeyOf(config: StunnerConfig): string {
  return config.admin.name;
}

export function listenerIdentity(config: StunnerConfig, l: ListenerConfig): ListenerIdentity {
  const parts = l.name.split('/');
  if (parts.length === 3) return { namespace: parts[0]!, gateway: parts[1]!, listener: parts[2]! };
  // Hand-written configs may use short listener names: take the gateway from admin.name.
  const gw = config.admin.name.split('/');
  const listener = parts[parts.length - 1]!;
  if (gw.length === 2) return { namespace: gw[0]!, gateway: gw[1]!, listener };
  return { namespace: '', gateway: config.admin.name, listener };
}

export interface ListenerFilter {
  readonly namespace: string | undefined;
  readonly gateway: string | undefined;
  readonly listener: string | undefined;
}

export function matchesFilter(id: ListenerIdentity, f: ListenerFilter): boolean {
  if (f.namespace !== undefined && f.namespace !== id.namespace) return false;
  if (f.gateway !== undefined && f.gateway !== id.gateway) return false;
  if (f.listener !== undefined && f.listener !== id.listener) return false;
  return true;
}

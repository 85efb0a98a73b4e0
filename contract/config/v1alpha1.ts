/**
 * Converts a v1alpha1 stunnerd config to v1. The shapes are nearly the same: the version
 * string changes and the old auth type names become aliases, which v1 accepts as they are.
 * Relay port ranges (`min_relay_port`/`max_relay_port`) carry over as our v1 extension.
 */
export function isV1alpha1(raw: unknown): boolean {
  return isObject(raw) && raw['version'] === 'v1alpha1';
}

export function convertV1alpha1(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw, version: 'v1' };
  const auth = raw['auth'];
  if (isObject(auth) && typeof auth['type'] === 'string') {
    const t = auth['type'].toLowerCase();
    out['auth'] = {
      ...auth,
      type: t === 'plaintext' ? 'static' : t === 'longterm' ? 'ephemeral' : auth['type'],
    };
  }
  return out;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

import { describe, expect, it } from 'vitest';
import { DEFAULT_TTL, MAX_TTL, parseIceQuery } from '../../../runtime/ice/query.js';

function message(q: string): string {
  const r = parseIceQuery(q);
  if (r.ok) throw new Error(`expected ${q} to be refused`);
  return r.message;
}

describe('query validation', () => {
  it('fills defaults: ttl 86400, policy all, no filter', () => {
    const r = parseIceQuery('service=turn');
    expect(r).toEqual({
      ok: true,
      query: {
        service: 'turn',
        username: '',
        ttl: DEFAULT_TTL,
        namespace: undefined,
        gateway: undefined,
        listener: undefined,
        iceTransportPolicy: 'all',
      },
    });
    expect(DEFAULT_TTL).toBe(86400);
  });

  it('takes every parameter', () => {
    const r = parseIceQuery(
      'service=turn&username=alice&ttl=60&namespace=media&gateway=udp-gw&listener=udp&iceTransportPolicy=relay',
    );
    expect(r.ok && r.query).toEqual({
      service: 'turn',
      username: 'alice',
      ttl: 60,
      namespace: 'media',
      gateway: 'udp-gw',
      listener: 'udp',
      iceTransportPolicy: 'relay',
    });
  });

  it('requires service=turn', () => {
    expect(message('')).toMatch(/"service" is required/);
    expect(message('service=stun')).toMatch(/"service" is "stun"; it must be "turn"/);
  });

  it('refuses bad ttls with the reason', () => {
    expect(message('service=turn&ttl=abc')).toMatch(/"ttl" is "abc"; expected whole seconds/);
    expect(message('service=turn&ttl=-5')).toMatch(/"ttl"/);
    expect(message('service=turn&ttl=0')).toMatch(/"ttl" is 0; expected 1 to/);
    expect(message(`service=turn&ttl=${MAX_TTL + 1}`)).toMatch(/expected 1 to 31536000 seconds/);
    expect(message('service=turn&ttl=1.5')).toMatch(/whole seconds/);
  });

  it('needs namespace for gateway, and both for listener', () => {
    expect(message('service=turn&gateway=g')).toBe('parameter "gateway" needs "namespace" too');
    expect(message('service=turn&namespace=n&listener=l')).toBe(
      'parameter "listener" needs "namespace" and "gateway" too',
    );
  });

  it('refuses an unknown iceTransportPolicy', () => {
    expect(message('service=turn&iceTransportPolicy=none')).toMatch(/use one of all, relay, public/);
  });

  it('refuses user ids that could plant an expiry or break the username', () => {
    expect(message('service=turn&username=a:9999999999')).toMatch(
      /"username" must be printable text without/,
    );
    expect(message('service=turn&username=a%0Ab')).toMatch(/"username"/);
    expect(message('service=turn&username=a%20b')).toMatch(/"username"/);
  });

  it('refuses names that are not Kubernetes names', () => {
    expect(message('service=turn&namespace=a/b')).toMatch(
      /"namespace" is "a\/b"; expected a Kubernetes object name/,
    );
  });

  it('bounds sizes and refuses repeated parameters', () => {
    expect(message(`service=turn&x=${'a'.repeat(3000)}`)).toMatch(/at most 2048 are accepted/);
    expect(message(`service=turn&username=${'a'.repeat(300)}`)).toMatch(/"username" is 300 characters long/);
    expect(message('service=turn&ttl=5&ttl=6')).toBe('parameter "ttl" is given more than once');
  });

  it('ignores unknown parameters, as STUNner does', () => {
    expect(parseIceQuery('service=turn&key=whatever').ok).toBe(true);
  });
});

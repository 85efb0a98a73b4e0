/** admin endpoint URLs as STUNner writes them: `http://[address][:port][/path]`, "" = off. */
import { describe, expect, it } from 'vitest';
import { parseAdminEndpoint } from '../../contract/admin-endpoint.js';

const d = { port: 8086, path: '/' };

describe('parseAdminEndpoint', () => {
  it('fills in the defaults STUNner uses', () => {
    expect(parseAdminEndpoint('', d)).toBeUndefined();
    expect(parseAdminEndpoint('http://:8086', d)).toEqual({ host: undefined, port: 8086, path: '/' });
    expect(parseAdminEndpoint('http://', d)).toEqual({ host: undefined, port: 8086, path: '/' });
    expect(parseAdminEndpoint('http://10.0.0.1:8080/metrics', { port: 8080, path: '/metrics' })).toEqual({
      host: '10.0.0.1',
      port: 8080,
      path: '/metrics',
    });
    expect(parseAdminEndpoint('http://[::1]:9000', { port: 8080, path: '/metrics' })).toEqual({
      host: '::1',
      port: 9000,
      path: '/metrics',
    });
  });

  it('says what is wrong with a bad endpoint', () => {
    expect(() => parseAdminEndpoint('https://x', d)).toThrow(/"https:\/\/x" is not a valid endpoint/);
  });
});

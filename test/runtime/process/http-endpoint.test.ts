/** admin endpoint URLs as STUNner writes them: `http://[address][:port][/path]`, "" = off. */
import { describe, expect, it } from 'vitest';
import { parseHttpEndpoint } from '../../../runtime/process/health/http-endpoint.js';

const d = { port: 8086, path: '/' };

describe('parseHttpEndpoint', () => {
  it('fills in the defaults STUNner uses', () => {
    expect(parseHttpEndpoint('', d)).toBeUndefined();
    expect(parseHttpEndpoint('http://:8086', d)).toEqual({ host: undefined, port: 8086, path: '/' });
    expect(parseHttpEndpoint('http://', d)).toEqual({ host: undefined, port: 8086, path: '/' });
    expect(parseHttpEndpoint('http://10.0.0.1:8080/metrics', { port: 8080, path: '/metrics' })).toEqual({
      host: '10.0.0.1',
      port: 8080,
      path: '/metrics',
    });
    expect(parseHttpEndpoint('http://[::1]:9000', { port: 8080, path: '/metrics' })).toEqual({
      host: '::1',
      port: 9000,
      path: '/metrics',
    });
  });

  it('says what is wrong with a bad endpoint', () => {
    expect(() => parseHttpEndpoint('https://x', d)).toThrow(/"https:\/\/x" is not a valid endpoint/);
  });
});

/** build/runtime-bundle.ts: a runtime that does not bundle fails with the file and the reason. */
import { describe, expect, it } from 'vitest';
import { bundleRuntime, RuntimeBundleError } from '../../build/runtime-bundle.js';

describe('bundleRuntime', () => {
  it('reports a runtime that does not bundle, with the file and the reason', () => {
    let error: unknown;
    try {
      bundleRuntime('test/build/fixtures/broken-runtime.ts');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RuntimeBundleError);
    const message = (error as Error).message;
    expect(message).toMatch(/cannot bundle the runtime from test\/build\/fixtures\/broken-runtime\.ts/);
    expect(message).toMatch(/broken-runtime\.ts:3:\d+: Could not resolve "\.\/does-not-exist\.js"/);
  });
});

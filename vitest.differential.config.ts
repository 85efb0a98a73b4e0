import { defineConfig } from 'vitest/config';

/**
 * The differential tier (`npm run test:differential`): STUNner's own stunnerd and turncat
 * (scripts/build-stunner.sh builds them from the Go module proxy) beside ours, on loopback.
 * One file at a time: each starts several relays on a 2-core machine.
 */
export default defineConfig({
  test: {
    include: ['test/differential/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});

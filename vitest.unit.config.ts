import { defineConfig } from 'vitest/config';
import { filesOf } from './test/tiers.js';

/**
 * The unit tier (`npm run test:unit`): the files that start no process, browser or pack and load
 * no machine (test/tiers.ts decides), in parallel. The inner loop: under a minute on two cores.
 */
export default defineConfig({
  test: {
    include: filesOf('unit'),
    // writes the runtime assets every synth reads; no pods here, so not their Node.js release
    globalSetup: ['test/unit-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // vitest's default on two cores is one worker; files here mostly wait on loopback and timers
    maxWorkers: 3,
    // A worker keeps its imports from file to file (cdk8s, the runtime): half the CPU time. Unit
    // files therefore leave no global state behind (env, timers, listeners: restore what changes).
    isolate: false,
  },
});

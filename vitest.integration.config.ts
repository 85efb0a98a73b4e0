import { defineConfig } from 'vitest/config';
import { filesOf } from './test/tiers.js';

/**
 * The integration tier (`npm run test:integration`): every other file of `npm test` (test/tiers.ts
 * decides): pods, processes, peers, browsers, the packed library, load.
 */
export default defineConfig({
  test: {
    include: filesOf('integration'),
    // installs the pods' Node.js release once (test/global-setup.ts)
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Interop tests bind real ports and spawn real peers: keep files serial on a 2-core box.
    fileParallelism: false,
  },
});

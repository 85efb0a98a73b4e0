import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the cluster tier has its own run (vitest.cluster.config.ts, npm run test:cluster)
    exclude: [...configDefaults.exclude, 'test/cluster/**'],
    // installs the pods' Node.js release once (test/global-setup.ts)
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Interop tests bind real ports and spawn real peers: keep files serial on a 2-core box.
    fileParallelism: false,
  },
});

import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the cluster and differential tiers have their own runs (vitest.cluster.config.ts,
    // npm run test:cluster; vitest.differential.config.ts, npm run test:differential)
    exclude: [...configDefaults.exclude, 'test/cluster/**', 'test/differential/**'],
    // installs the pods' Node.js release once (test/global-setup.ts)
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Interop tests bind real ports and spawn real peers: keep files serial on a 2-core box.
    fileParallelism: false,
  },
});

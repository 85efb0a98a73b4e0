import { defineConfig } from 'vitest/config';

/**
 * The cluster tier (`npm run test:cluster`): the committed dist/ against a real Kubernetes control
 * plane (scripts/build-control-plane.sh builds it; test/cluster/ starts it). One file at a time:
 * each starts its own control plane on a 2-core machine.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    // its own tier, with its own build: vitest.argocd.config.ts
    exclude: ['test/cluster/argocd.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});

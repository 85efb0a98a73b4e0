import { defineConfig } from 'vitest/config';

/**
 * The Argo CD tier (`npm run test:argocd`): Argo CD's own controllers (scripts/build-argocd.sh)
 * sync the committed dist/ from a git server on loopback into two real control planes.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/argocd.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});

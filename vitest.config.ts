import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Live tests start real processes and network namespaces: keep the 2-core machine responsive.
    maxWorkers: 2,
    pool: 'forks',
  },
});

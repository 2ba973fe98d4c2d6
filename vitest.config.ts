import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests that run bin/fdleak.js or a worker run dist/: rebuilt first whenever a source is newer.
    globalSetup: ['test/helpers/fresh-build.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Live tests start real processes and network namespaces: keep the 2-core machine responsive.
    maxWorkers: 2,
    pool: 'forks',
  },
});

// Not part of the test suite: regenerates fixtures/rules/*/* from live leakers.
//   npx vitest run --config test/helpers/capture.vitest.config.ts
// then review `git diff fixtures/` and refresh the golden files with
//   npx vitest run test/rules -u
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/helpers/capture-rule-fixtures.ts', 'test/helpers/capture-growth-fixtures.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});

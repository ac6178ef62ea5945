// The tests Stryker runs against each mutant of the decision core: pure, no servers, so no global
// setup. The world model runs fewer sequences per mutant (BF_MODEL_RUNS) than in `npm test`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/decide.test.ts', 'test/unit/promise.test.ts', 'test/unit/migrate.test.ts'],
    env: { BF_MODEL_RUNS: process.env.BF_MODEL_RUNS ?? '1500' },
    testTimeout: 120_000,
    pool: 'threads',
  },
});

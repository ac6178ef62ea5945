// `npm run test:mutation`: mutation testing of the decision core with Stryker. Each mutant of
// core/decide.ts runs the core's unit tests and the world-model properties (fewer sequences per
// mutant than `npm test`); the score must stay at or above 90 %. Surviving mutants judged
// equivalent are listed in docs/RELIABILITY.md with why.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: ['core/decide.ts'],
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: '.data/mutation/report.json' },
  tempDirName: '.data/stryker-tmp',
  thresholds: { high: 95, low: 90, break: 90 },
  concurrency: 2,
  timeoutMS: 60_000,
  cleanTempDir: 'always',
};

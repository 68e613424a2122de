// Mutation testing of the code where a wrong sign or a `<` for `<=` costs money: amounts, the
// order state machine and decision, and each channel's signing and answer mapping.
// Run with `npm run mutation` (not part of `npm test`); the report lands in reports/mutation/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'protocol/money.ts',
    'cloud-bridge/orders/state-machine.ts',
    'cloud-bridge/orders/decide.ts',
    'cloud-bridge/channels/wechat/sign.ts',
    'cloud-bridge/channels/wechat/outcomes.ts',
    'cloud-bridge/channels/bank/sign.ts',
    'cloud-bridge/channels/bank/outcomes.ts',
    'cloud-bridge/channels/alipay/sign.ts',
    'cloud-bridge/channels/alipay/outcomes.ts',
  ],
  coverageAnalysis: 'perTest',
  // A mutant of a module-level constant (a table, a set of codes) runs the whole suite rather
  // than the tests that reach it, and those few took three quarters of a run's time here; they
  // are left out (reported as Ignored); set this to false to include them.
  ignoreStatic: true,
  // The machine is shared; two workers keep a run to a few minutes without starving others.
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  thresholds: { high: 90, low: 80, break: 90 },
};

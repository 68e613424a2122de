import { defineConfig } from 'vitest/config';

// Only the unit tests that cover the modules under mutation (stryker.config.mjs). Stryker runs the
// suite once per mutant, so the whole suite here would turn minutes into hours.
export default defineConfig({
  test: {
    include: [
      'protocol/money.test.ts',
      'cloud-bridge/orders/{state-machine,decide}*.test.ts',
      'cloud-bridge/channels/{wechat,bank,alipay}/{sign,outcomes}*.test.ts',
    ],
    exclude: ['**/node_modules/**', 'dist/**'],
    testTimeout: 30_000,
  },
});

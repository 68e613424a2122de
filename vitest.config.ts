import { defineConfig } from 'vitest/config';

// Two projects: unit tests run in parallel; end-to-end tests start real processes on
// random ports and share the machine's two cores, so they run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{protocol,cloud-bridge,terminal,simulators,cli}/**/*.test.ts', 'test/*.test.ts'],
          exclude: ['**/node_modules/**', 'dist/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

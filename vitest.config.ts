import { defineConfig } from 'vitest/config';

// One run, four projects: unit (no network), infra (CDK assertions + cdk-nag),
// integration (the real local stack, started once in globalSetup) and e2e
// (headless Chromium against the same stack). A fifth, faults (fault injection
// and load, 2–4 minutes), runs only with `npm run test:faults`; CI runs both.
export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    // `npm run coverage` (and CI): V8 coverage of the product's code, reported per file and in
    // coverage/coverage-summary.json; no thresholds, the figure per folder goes in the notes.
    coverage: {
      provider: 'v8',
      include: ['{lambdas,lib,local,web/src,bin}/**/*.{ts,tsx}'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
    },
    // Handlers imported in tests emit no EMF lines (test/unit/metrics.test.ts checks them explicitly).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_METRICS_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          exclude: ['test/e2e/offline-start.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          maxWorkers: 2,
          // Projects run one group after the other: on 2 cores the stack, its
          // JVMs and Chromium should not share the CPU with CDK synthesis.
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        // The service-worker tests alone, after the other browser files, on a stack of their own:
        // run beside them under CI load they time out waiting for the offline start (not yet
        // understood; alone they pass). Still part of npm test.
        test: {
          name: 'offline-start',
          include: ['test/e2e/offline-start.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          sequence: { groupOrder: 3 },
        },
      },
      {
        extends: true,
        // Faults and load: every file starts its own stack with the flags it needs
        // (data dir, short timeouts, injected post failures), one file at a time.
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 4 },
        },
      },
    ],
  },
});

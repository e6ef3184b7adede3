import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: { alias: { '@': fileURLToPath(new URL('.', import.meta.url)) } },
  test: {
    // Integration tests share the kernel's global conntrack limits; run files one at a time there.
    projects: [
      // Unit tests build snapshots of tens of thousands of rows and hash passwords: vitest's 5 s default is too
      // short on a loaded 2-core machine (a full run beside a `next build` timed several out).
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts', 'lib/**/*.test.ts'], testTimeout: 30_000 } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['tests/support/build-once.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

// The project's own tests: unit tests of the harness, and end-to-end runs of the CLI against the
// native lab (which share loopback addresses, so files run one at a time).
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['tests/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});

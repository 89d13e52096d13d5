import { defineConfig } from 'vitest/config';

// The project's own tests: unit tests of the harness, and end-to-end runs of the CLI against the native lab.
// Files run in two workers, each with a lab of its own (tests/worker-lab.ts). Whoever set FEDCONF_LAB_NET or
// FEDCONF_LAB_HOME asked for one particular lab, so the files then run one at a time on it.
// FEDCONF_TEST_WORKERS overrides the count (1 on a busy machine where timing-sensitive scenarios need the CPU).
const ownLab = Boolean(process.env.FEDCONF_LAB_NET ?? process.env.FEDCONF_LAB_HOME);
const workers = ownLab ? 1 : Number(process.env.FEDCONF_TEST_WORKERS ?? 2);

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/worker-lab.ts'],
    fileParallelism: workers > 1,
    maxWorkers: workers,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});

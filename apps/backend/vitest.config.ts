import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Child processes rather than threads: isolated-vm is a native addon, and several
    // suites start their own sandbox host processes.
    pool: 'forks',
    // isolated-vm needs this flag on Node 20 and later.
    execArgv: ['--no-node-snapshot'],
    // Two cores: more parallel suites only make each sandbox start slower.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

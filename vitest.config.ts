import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: workflow tests bundle code and run servers, so keep files from fighting for CPU.
    maxWorkers: 2,
    minWorkers: 1,
  },
});

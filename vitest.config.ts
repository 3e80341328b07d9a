import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Waits for effects of other connections and processes, on a loaded machine: a generous bound,
    // checked often so a test takes no longer than its effects do.
    expect: { poll: { timeout: 10_000, interval: 10 } },
    pool: 'forks',
    reporters: ['default', ['json', { outputFile: '.test-results/vitest.json' }]],
  },
});

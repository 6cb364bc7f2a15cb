import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests spawn socat, lrzsz and simulators on real ptys; two cores
    // are shared with those helper processes, so keep file parallelism modest.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // electron-store runs for real in the tests (real files, real modes); inlined, its own
    // `import electron` gets the test's mock instead of Electron's binary-downloading index.js.
    server: { deps: { inline: ['electron-store'] } },
  },
});

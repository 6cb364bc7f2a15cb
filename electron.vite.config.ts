import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

// Sources live in main/, preload/ and renderer/ (not electron-vite's default src/).
export default defineConfig({
  main: {
    build: { rolldownOptions: { input: { index: resolve('main/electron/main.ts') } } },
  },
  preload: {
    // A sandboxed preload cannot require packages: bundle zod in, and emit CommonJS.
    build: {
      externalizeDeps: false,
      rolldownOptions: { input: { index: resolve('preload/index.ts') }, output: { format: 'cjs', entryFileNames: '[name].js' } },
    },
  },
  renderer: {
    root: 'renderer',
    build: { rolldownOptions: { input: resolve('renderer/index.html') } },
    plugins: [react()],
  },
});

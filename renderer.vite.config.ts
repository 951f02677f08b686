// Builds the renderer (renderer/) for browser mode (`gatehouse serve` serves out/renderer). The Electron
// build (electron.vite.config.ts) uses the same settings for its renderer. It lives outside renderer/
// because it is build tooling that runs in Node, where renderer code must not.
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

export const rendererConfig = {
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('./out/renderer', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    // `npm run dev:ui`: the UI with hot reload against a host on :7373.
    proxy: { '/api': { target: 'http://127.0.0.1:7373', ws: true }, '/connect': 'http://127.0.0.1:7373', '/v1.1': 'http://127.0.0.1:7373' },
  },
};

export default defineConfig(rendererConfig);

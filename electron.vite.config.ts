// The desktop build (npm run build:electron; docs/desktop.md). Everything goes under out/electron/, so
// the browser-mode UI in out/renderer (npm run build:ui, served by `gatehouse serve`) is left alone:
//   out/electron/main/index.js          main process (ESM)
//   out/electron/main/core-process.js   the core's utility process (ESM)
//   out/electron/preload/index.cjs      the preload (CommonJS: sandboxed preloads cannot be modules)
//   out/electron/renderer/              the Vue UI, built with the browser mode's settings
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './renderer.vite.config.ts';

const root = import.meta.dirname;
const out = (dir: string) => resolve(root, 'out/electron', dir);

/** Native modules stay in node_modules (unpacked from the asar), loaded at run time by the core process. */
const NATIVE = ['better-sqlite3', 'usb'];

export default defineConfig({
  main: {
    build: {
      outDir: out('main'),
      // Bundle the core and its pure dependencies (zod, luxon, …); only native modules stay external.
      externalizeDeps: false,
      sourcemap: true,
      rolldownOptions: {
        input: {
          index: resolve(root, 'electron/main/index.ts'),
          'core-process': resolve(root, 'electron/main/core-process.ts'),
        },
        external: NATIVE,
      },
    },
  },
  preload: {
    build: {
      outDir: out('preload'),
      // A sandboxed preload gets a restricted require('electron') and nothing else: bundle everything.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    ...rendererConfig,
    build: {
      ...rendererConfig.build,
      outDir: out('renderer'),
      emptyOutDir: true,
      rolldownOptions: { input: resolve(rendererConfig.root, 'index.html') },
    },
  },
});

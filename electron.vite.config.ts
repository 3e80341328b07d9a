import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type UserConfig } from 'electron-vite';
import type { Plugin, UserConfig as ViteUserConfig } from 'vite';
import { contentSecurityPolicy } from './src/main/electron/policy/csp';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Writes the CSP <meta> from the same policy main sends as a header, so the two cannot drift. */
function cspMeta(): Plugin {
  let dev = false;
  return {
    name: 'ringbridge-csp-meta',
    configResolved(config) {
      dev = config.command === 'serve';
    },
    transformIndexHtml(html) {
      if (!html.includes('%RINGBRIDGE_CSP%')) throw new Error('index.html lost its CSP placeholder');
      return html.replace('%RINGBRIDGE_CSP%', contentSecurityPolicy({ dev, forMeta: true }));
    },
  };
}

/** The renderer build on its own, also used by test/renderer to build into a temp dir with plain vite. */
export const rendererConfig: ViteUserConfig = {
  root: resolve(root, 'src/renderer'),
  plugins: [react(), cspMeta()],
  build: {
    rollupOptions: { input: resolve(root, 'src/renderer/index.html') },
  },
};

const config: UserConfig = {
  main: {
    build: {
      rollupOptions: { input: resolve(root, 'src/main/index.ts') },
    },
  },
  preload: {
    build: {
      // Sandboxed preloads run without Node's require for node_modules: bundle everything, as CommonJS.
      externalizeDeps: false,
      rollupOptions: {
        input: resolve(root, 'src/preload/index.ts'),
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: rendererConfig,
};

export default defineConfig(config);

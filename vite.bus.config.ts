// The bus, the admin CLI and the remote connector as plain JavaScript for Node (the second half of
// `npm run build`; electron-vite builds the agent). An SSR build leaves every package external, so
// native and runtime dependencies (better-sqlite3, fastify, ioredis…) load from node_modules.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  publicDir: false,
  build: {
    ssr: true,
    target: 'node20',
    outDir: resolve(root, 'out/bus'),
    emptyOutDir: true,
    rollupOptions: {
      // bin/ runs these by name.
      input: {
        server: resolve(root, 'src/bus/server.ts'),
        admin: resolve(root, 'src/bus/cli/index.ts'),
        connector: resolve(root, 'src/bus/ingest/call-control/remote.ts'),
      },
    },
  },
});

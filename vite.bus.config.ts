// The bus, the admin CLI and the remote connector as plain JavaScript for Node (the second half of
// `npm run build`; electron-vite builds the agent). Packages are not bundled: native and runtime
// dependencies (better-sqlite3, fastify, ioredis…) load from node_modules at run time.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const runtime = new Set(Object.keys((JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies));

/** A package import stays an import; one a production install (no devDependencies) lacks fails the build. */
function external(id: string): boolean {
  if (id.startsWith('node:') || builtinModules.includes(id)) return true;
  if (id.startsWith('.') || id.startsWith('/') || id.startsWith('\0')) return false;
  const name = id.split('/').slice(0, id.startsWith('@') ? 2 : 1).join('/');
  if (runtime.has(name)) return true;
  throw new Error(`the bus imports ${id}, which is not in package.json "dependencies"`);
}

export default defineConfig({
  root,
  publicDir: false,
  build: {
    ssr: true,
    target: 'node20',
    outDir: resolve(root, 'out/bus'),
    emptyOutDir: true,
    rollupOptions: {
      external,
      // bin/ runs these by name.
      input: {
        server: resolve(root, 'src/bus/server.ts'),
        admin: resolve(root, 'src/bus/cli/index.ts'),
        connector: resolve(root, 'src/bus/ingest/call-control/remote.ts'),
      },
      output: { chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
});

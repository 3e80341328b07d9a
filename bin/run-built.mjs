// Shared by the bin/ launchers: production runs the JavaScript `npm run build` wrote to out/bus/,
// loaded as if `node out/bus/<entry>.js` had been typed, with its packages from node_modules.
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Runs out/bus/<entry>.js, or exits 1 saying how to build it. */
export async function runBuilt(entry, command) {
  const file = fileURLToPath(new URL(`../out/bus/${entry}.js`, import.meta.url));
  if (!existsSync(file)) {
    process.stderr.write(`${command}: ${file} is missing: run npm run build first\n`);
    process.exit(1);
  }
  // Each entry starts itself only when it is the program node was given (argv[1] is its own file).
  // The loader reports the resolved path as import.meta.url, so argv[1] is resolved the same way.
  process.argv[1] = realpathSync(file);
  await import(pathToFileURL(process.argv[1]).href);
}

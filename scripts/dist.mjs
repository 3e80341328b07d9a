#!/usr/bin/env node
// `npm run dist [-- --win|--mac|--linux ...]`: builds the agent's installers with electron-builder
// (electron-builder.config.ts) on a machine with internet (it downloads Electron, NSIS/WiX and
// better-sqlite3's Electron binary). electron-builder rebuilds better-sqlite3 in node_modules for
// Electron's ABI; afterwards it is rebuilt for Node again, even when packaging failed, so
// `npm test` and the bus keep working in the same checkout.
import { spawnSync } from 'node:child_process';
import { windowsSigning } from './dist-signing.mjs';

const { args, refusal } = windowsSigning(process.argv.slice(2), process.env, process.platform);
if (refusal) {
  console.error(refusal);
  process.exit(1);
}
if (process.argv.includes('--unsigned')) console.warn('dist: building unsigned (--unsigned): Windows installs of this build update without a signature check.');

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' }).status ?? 1;

let status = run('npx', ['electron-vite', 'build']);
if (status === 0) status = run('npx', ['electron-builder', '--config', 'electron-builder.config.ts', '--publish', 'never', ...args]);
const restored = run('npm', ['rebuild', 'better-sqlite3']);
if (restored !== 0) console.error('dist: could not rebuild better-sqlite3 for Node; run `npm rebuild better-sqlite3` before `npm test`.');
process.exit(status || restored);

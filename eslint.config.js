// Flat config. Beyond the recommended sets it enforces the agent's security boundaries:
// only src/main/electron (and the preload) touch electron, only the validated wrapper calls
// ipcMain.handle, only the gate calls shell.openExternal, and the renderer never reaches Node.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';

const ipcHandleOutsideWrapper = {
  selector: "CallExpression[callee.object.name='ipcMain'][callee.property.name=/^(handle|handleOnce|on|once)$/]",
  message: 'Register IPC only through handle() in src/main/electron/ipc.ts (it validates arguments and the sender).',
};
const openExternalOutsideGate = {
  selector: "MemberExpression[property.name='openExternal'][object.name='shell']",
  message: 'Open links only through the gate in src/main/electron/open-external.ts.',
};
const sandboxOff = {
  selector: "Property[key.name='sandbox'][value.value=false]",
  message: 'The renderer is always sandboxed.',
};
const electronImport = {
  paths: [{ name: 'electron', message: 'Only src/main/electron/ (and the preload) may import electron; keep capabilities plain TypeScript.' }],
  patterns: [{ group: ['electron/*'], message: 'Only src/main/electron/ may import electron.' }],
};
// The bus and the agent are separate programs: what both use (contracts, wire shapes) lives in
// src/shared; a test that runs both belongs in test/.
const noMainImport = { group: ['**/main/**'], message: 'Only the agent imports src/main: put what the bus also uses in src/shared.' };
const noBusImport = { group: ['**/bus/**'], message: 'Only the bus imports src/bus: put what the agent also uses in src/shared.' };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-artifacts/**', '.test-results/**', '.data/**', '**/*.tsbuildinfo'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', ipcHandleOutsideWrapper, openExternalOutsideGate, sandboxOff],
      'no-restricted-imports': ['error', electronImport],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    // Type-aware promise rules: a promise nobody awaits or catches loses its error (and, in the agent's
    // event chain, every later event); an async callback where void is expected is never awaited.
    files: ['**/*.{ts,tsx}'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['src/renderer/**/*.tsx', 'test/renderer/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    files: ['src/bus/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { ...electronImport, patterns: [...electronImport.patterns, noMainImport] }] },
  },
  {
    files: ['src/main/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { ...electronImport, patterns: [...electronImport.patterns, noBusImport] }] },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { ...electronImport, patterns: [...electronImport.patterns, noMainImport, noBusImport] }] },
  },
  {
    files: ['src/main/electron/**/*.ts', 'src/preload/index.ts'],
    ignores: ['src/main/electron/policy/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noBusImport] }] },
  },
  {
    // Test helpers live in test/; production code never imports them. A rule of its own (the
    // typescript-eslint twin), so the per-folder no-restricted-imports settings above stay as they are.
    files: ['src/**/*.{ts,tsx}'],
    ignores: ['**/*.test.{ts,tsx}'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['**/test/**'], message: 'Only tests import test/: production code stands without it.' }] }] },
  },
  {
    files: ['src/main/electron/ipc.ts'],
    rules: { 'no-restricted-syntax': ['error', openExternalOutsideGate, sandboxOff] },
  },
  {
    files: ['src/main/electron/open-external.ts'],
    rules: { 'no-restricted-syntax': ['error', ipcHandleOutsideWrapper, sandboxOff] },
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: electronImport.paths,
          patterns: [
            { group: ['node:*', 'electron/*'], message: 'The renderer is a web page: no Node, no electron.' },
            { group: ['**/main/**', '**/preload/api*', '**/bus/**'], message: 'The renderer talks to main only through window.agent.' },
          ],
        },
      ],
    },
  },
  {
    // Test bridges and probes need page globals.
    files: ['test/renderer/**/*.ts', 'test/electron/**/*.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);

// Guards on the shape of the code that keep the Electron checklist true as the app grows: each
// would fail if someone imported electron into a capability, opened a link outside the gate,
// registered raw IPC, turned the sandbox off, or let the renderer reach Node.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import config from '../../electron.vite.config.js';
import { lintRuleIds as lint } from '../support/lint-probe.js';

const ROOT = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|js|mjs|cjs)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const SRC = sourceFiles('src');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const IMPORTS_ELECTRON = /(from\s+|import\s*\(\s*|require\s*\(\s*)['"]electron(\/[^'"]*)?['"]/;

describe('code boundaries', () => {
  it('only src/main/electron (outside policy/) and the preload entry import electron', () => {
    const offenders = SRC.filter((f) => IMPORTS_ELECTRON.test(read(f))).filter(
      (f) => !(f.startsWith('src/main/electron/') && !f.startsWith('src/main/electron/policy/')) && f !== 'src/preload/index.ts',
    );
    expect(offenders).toEqual([]);
  });

  it('calls shell.openExternal only in the gate', () => {
    // Electron's shell.openExternal (called, or taken off `shell`), not the gate's own openExternal port.
    const reachesShell = /\bshell\s*\??\.\s*openExternal\b|\{[^}]*\bopenExternal\b[^}]*\}\s*=\s*shell\b/;
    expect(SRC.filter((f) => reachesShell.test(read(f)))).toEqual(['src/main/electron/open-external.ts']);
  });

  it('registers IPC handlers only in the validated wrapper', () => {
    expect(SRC.filter((f) => /ipcMain\s*\.\s*(handle|handleOnce|on|once)\s*\(/.test(read(f)))).toEqual(['src/main/electron/ipc.ts']);
  });

  it('never turns the sandbox, context isolation or web security off', () => {
    // Tests may carry these strings as hostile input; shipped code may not.
    const files = [...SRC.filter((f) => !f.endsWith('.test.ts')), 'electron.vite.config.ts'];
    for (const pattern of [/sandbox\s*:\s*false/, /contextIsolation\s*:\s*false/, /nodeIntegration\s*:\s*true/, /webSecurity\s*:\s*false/, /--no-sandbox/]) {
      expect(files.filter((f) => pattern.test(read(f))), String(pattern)).toEqual([]);
    }
  });

  it('keeps the renderer off Node, electron and main code', () => {
    const renderer = SRC.filter((f) => f.startsWith('src/renderer/'));
    expect(renderer.length).toBeGreaterThan(5);
    for (const file of renderer) {
      const text = read(file);
      expect(text, file).not.toMatch(IMPORTS_ELECTRON);
      expect(text, file).not.toMatch(/from\s+['"]node:/);
      expect(text, file).not.toMatch(/from\s+['"][./]+\/(main|bus)\//);
    }
  });

  it('sandboxes before ready, with the single-instance lock first', () => {
    const app = read('src/main/electron/app.ts');
    const lock = app.indexOf('app.requestSingleInstanceLock()');
    const sandbox = app.indexOf('app.enableSandbox()');
    const ready = app.indexOf('app.whenReady()');
    expect(lock).toBeGreaterThan(-1);
    expect(lock).toBeLessThan(sandbox);
    expect(sandbox).toBeLessThan(ready);
    expect(app).toContain('app.setAppUserModelId(');
  });

  it('exposes only the typed API object from the preload, never ipcRenderer', () => {
    const preload = read('src/preload/index.ts');
    expect(preload.match(/exposeInMainWorld\(/g)).toHaveLength(1);
    expect(preload).toMatch(/exposeInMainWorld\('agent', api\)/);
  });

  it('bundles the preload as CommonJS with its dependencies, as the sandbox needs', () => {
    const preload = (config as { preload: { build: { externalizeDeps: unknown; rollupOptions: { output: { format: string; entryFileNames: string } } } } }).preload.build;
    expect(preload.externalizeDeps).toBe(false);
    expect(preload.rollupOptions.output.format).toBe('cjs');
    expect(read('src/main/electron/app.ts')).toContain(`../preload/${preload.rollupOptions.output.entryFileNames.replace('[name]', 'index')}`);
  });
});

describe('lint rules that back the boundaries', () => {
  it('flags electron in a capability, shell.openExternal and raw ipcMain.handle outside their homes', async () => {
    const code = "import { ipcMain, shell } from 'electron';\nexport const go = (u: string) => shell.openExternal(u);\nipcMain.handle('x', () => 1);\n";
    expect(await lint('src/main/screenpop/evil.ts', code)).toEqual(['no-restricted-imports', 'no-restricted-syntax', 'no-restricted-syntax']);
    expect(await lint('src/main/electron/tray-extra.ts', code)).toEqual(['no-restricted-syntax', 'no-restricted-syntax']);
  });

  it('flags sandbox: false anywhere and Node imports in the renderer', async () => {
    expect(await lint('src/main/electron/window2.ts', 'export const o = { webPreferences: { sandbox: false } };\n')).toEqual(['no-restricted-syntax']);
    expect(await lint('src/renderer/src/evil.ts', "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n")).toEqual(['no-restricted-imports']);
  });
});

// The real Electron app through Playwright's _electron: tray, a screen-pop, and tel: links on
// cold start and while running. Runs wherever the Electron binary is installed; on machines
// without it (ELECTRON_SKIP_BINARY_DOWNLOAD) each test is skipped with that reason in its name.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

function electronBinary(): string | null {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null; // the package throws when its binary was never downloaded
  }
}

const binary = electronBinary();
const skipped = binary ? '' : ' [skipped: the Electron binary is not installed on this machine]';
// Said in the run's output too, not only in the test names, so nobody mistakes the skip for a pass.
if (!binary) console.warn('test/electron/app.e2e.test.ts: SKIPPED: the Electron binary is not installed on this machine (ELECTRON_SKIP_BINARY_DOWNLOAD); the real-app tests run wherever it is.');

interface TestHooks {
  hasTray(): boolean;
  livePops(): number;
  links(): string[];
  showPop(popId: string): void;
}
type WithHooks = { __ringbridgeTest: TestHooks };
// Each runs inside the Electron main process (Playwright serialises the function).
const hasTray = (app: ElectronApplication) => app.evaluate(() => (globalThis as unknown as WithHooks).__ringbridgeTest.hasTray());
const livePops = (app: ElectronApplication) => app.evaluate(() => (globalThis as unknown as WithHooks).__ringbridgeTest.livePops());
const links = (app: ElectronApplication) => app.evaluate(() => (globalThis as unknown as WithHooks).__ringbridgeTest.links());
const showPop = (app: ElectronApplication, popId: string) =>
  app.evaluate((_electron, id) => (globalThis as unknown as WithHooks).__ringbridgeTest.showPop(id), popId);

let userData: string;
let running: ElectronApplication | null = null;

async function launch(...extra: string[]): Promise<ElectronApplication> {
  running = await _electron.launch({
    executablePath: binary!,
    args: [ROOT, `--user-data-dir=${userData}`, ...extra],
    env: { ...process.env, NODE_ENV: 'test' },
  });
  await running.evaluate(async ({ app }) => app.whenReady());
  return running;
}

describe('the packaged agent in Electron', () => {
  beforeAll(() => {
    if (binary) execFileSync('npx', ['electron-vite', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }, 180_000);
  afterEach(async () => {
    await running?.close();
    running = null;
    if (userData) rmSync(userData, { recursive: true, force: true });
  });
  const fresh = () => (userData = mkdtempSync(join(tmpdir(), 'rb-e2e-')));

  it.skipIf(!binary)(`shows the tray and a screen-pop${skipped}`, async () => {
    fresh();
    const app = await launch();
    await expect.poll(() => hasTray(app)).toBe(true);
    await showPop(app, 'tenant:pbx:c1:201');
    expect(await livePops(app)).toBe(1);
  });

  it.skipIf(!binary)(`loads the window from the app's own scheme, not file://${skipped}`, async () => {
    fresh();
    const app = await launch();
    const page = await app.firstWindow();
    await expect.poll(() => page.getByRole('heading', { name: 'Pair this computer' }).isVisible()).toBe(true);
    expect(page.url()).toBe('ringbridge-app://ui/index.html');
  });

  it.skipIf(!binary)(`takes a tel: link on cold start${skipped}`, async () => {
    fresh();
    const app = await launch('tel:+61298765432');
    await expect.poll(() => links(app)).toEqual(['tel:+61298765432']);
  });

  it.skipIf(!binary)(`takes a tel: link while running, from a second instance${skipped}`, async () => {
    fresh();
    const app = await launch();
    const second = spawn(binary!, [ROOT, `--user-data-dir=${userData}`, 'callto:+442071234567'], { env: { ...process.env, NODE_ENV: 'test' } });
    await new Promise((resolve) => second.on('exit', resolve)); // it hands the link over and leaves
    await expect.poll(() => links(app)).toEqual(['callto:+442071234567']);
  });
});

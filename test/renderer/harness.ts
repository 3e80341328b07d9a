// Builds the renderer with the project's own vite config, serves it on loopback with main's CSP
// header, and opens it in Debian's Chromium with a bridge that stands in for the preload: the
// page gets a window.agent with the same methods, and every call goes through main's real
// guarded handler (contract validation included) into a FakeAgent in this process.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { rendererConfig } from '../../electron.vite.config.js';
import { contentSecurityPolicy } from '../../src/main/electron/policy/csp.js';
import { guardHandler } from '../../src/main/electron/policy/ipc-guard.js';
import { eventContract, eventMethodName, eventNames, invokeNames, type EventName, type EventPayload, type InvokeName, type PanelCall } from '../../src/shared/ipc.js';
import type { FakeAgent } from './fake-agent.js';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png' };

export interface RendererHarness {
  url: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startRenderer(): Promise<RendererHarness> {
  const outDir = mkdtempSync(join(tmpdir(), 'rb-renderer-'));
  await build({
    ...rendererConfig,
    configFile: false,
    logLevel: 'warn',
    base: './',
    build: { ...rendererConfig.build, outDir, emptyOutDir: true },
  });
  const csp = contentSecurityPolicy({ dev: false, forMeta: false });
  const server: Server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    try {
      const body = readFileSync(join(outDir, path.includes('..') ? 'index.html' : path));
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'content-security-policy': csp });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`,
    browser,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

const trustAll = { isAppUrl: () => true, isOwnWebContents: () => true };

/** A page whose window.agent is wired to `fake`; `emit` pushes main -> window events. */
export async function openWindow(harness: RendererHarness, fake: FakeAgent): Promise<Page> {
  const page = await harness.browser.newPage({ viewport: { width: 460, height: 720 }, locale: 'en-AU', timezoneId: 'Australia/Sydney' });
  const frameEvent = () => ({ sender: { id: 1 }, senderFrame: { url: harness.url, parent: null } });
  // Refused arguments are the window's business (warn); an answer breaking the contract is the fake's bug.
  const log = { warn: () => {}, error: (obj: object, msg: string) => void fake.contractBreaks.push(`${msg} ${JSON.stringify(obj)}`) };
  await page.exposeFunction('__rbInvoke', (name: InvokeName, args: unknown[]) =>
    guardHandler(name, fake.handlers[name] as never, trustAll, log)(frameEvent(), ...args),
  );
  await page.addInitScript(
    ({ invokes, events }) => {
      const w = globalThis as unknown as Record<string, unknown> & { __rbInvoke(n: string, a: unknown[]): Promise<{ ok: boolean; value?: unknown; error?: { message: string } }> };
      const listeners = new Map<string, Set<(p: unknown) => void>>();
      const api: Record<string, unknown> = {};
      for (const name of invokes) {
        api[name] = async (...args: unknown[]) => {
          const result = await w.__rbInvoke(name, args);
          if (result.ok) return result.value;
          throw new Error(result.error?.message);
        };
      }
      for (const method of events) {
        listeners.set(method, new Set());
        api[method] = (listener: (p: unknown) => void) => {
          listeners.get(method)?.add(listener);
          return () => listeners.get(method)?.delete(listener);
        };
      }
      w['agent'] = Object.freeze(api);
      w['__rbEmit'] = (method: string, payload: unknown) => listeners.get(method)?.forEach((l) => l(payload));
    },
    { invokes: invokeNames, events: eventNames.map(eventMethodName) },
  );
  // Pushes are checked against the contract like main's send(), so a fake push cannot be something main could never send.
  const byMethod = new Map(eventNames.map((name) => [eventMethodName(name) as string, name]));
  fake.emit = async (method, payload) => {
    const name = byMethod.get(method);
    if (!name) throw new Error(`no such event method: ${method}`);
    const checked = eventContract[name].payload.safeParse(payload);
    if (!checked.success) throw new Error(`${name} payload breaks the IPC contract: ${checked.error.message}`);
    await page.evaluate(([m, p]) => (globalThis as unknown as { __rbEmit(m: unknown, p: unknown): void }).__rbEmit(m, p), [method, payload] as const);
  };
  await page.goto(harness.url);
  return page;
}

export async function emit<K extends EventName>(fake: FakeAgent, name: K, payload: EventPayload<K>): Promise<void> {
  await fake.emit(eventMethodName(name), payload);
}

const SCREENS = join(process.cwd(), 'test-artifacts', 'screens');

export interface RendererSuite {
  /** Opens the window on `fake`; after the test the page is closed and none of the fake's answers may have broken the IPC contract. */
  open(fake: FakeAgent): Promise<Page>;
  /** Opens the window, then main pushes `call` as the Call panel's only call. */
  openOnCall(fake: FakeAgent, call: PanelCall): Promise<Page>;
  /** A full-page screenshot in test-artifacts/screens/<name>.png. */
  shot(page: Page, name: string): Promise<Buffer>;
}

/** One browser for the test file it is called in, and a window per test. */
export function rendererSuite(): RendererSuite {
  let harness: RendererHarness | undefined;
  let page: Page | undefined;
  let current: FakeAgent | undefined;
  beforeAll(async () => {
    mkdirSync(SCREENS, { recursive: true });
    harness = await startRenderer();
  }, 120_000);
  afterAll(async () => harness?.close());
  afterEach(async () => {
    await page?.close();
    page = undefined;
    const breaks = current?.contractBreaks ?? [];
    current = undefined;
    expect(breaks).toEqual([]);
  });
  async function open(fake: FakeAgent): Promise<Page> {
    current = fake;
    page = await openWindow(harness!, fake);
    return page;
  }
  return {
    open,
    async openOnCall(fake, call) {
      const p = await open(fake);
      // The window is up (and listening to main's pushes) once its first tab is shown.
      await expect.poll(() => p.getByRole('tab', { name: 'Recent calls' }).getAttribute('aria-selected')).toBe('true');
      fake.panel = { calls: [call], dispositions: [] };
      await emit(fake, 'callPanelChanged', fake.panel);
      return p;
    },
    shot: (p, name) => p.screenshot({ path: join(SCREENS, `${name}.png`), fullPage: true }),
  };
}

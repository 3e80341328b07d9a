// The agent's window without Electron: the real renderer, built with the project's vite config,
// served on loopback under an unguessable path, with a small script standing in for the preload.
// Its window.agent calls go over HTTP into the same guarded handlers (contract checks included)
// the Electron shell registers, backed by one of the demo's terminal agents; pushes arrive as
// server-sent events. The page's CSP is the app's own except connect-src, which must allow 'self'.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { build } from 'vite';
import { rendererConfig } from '../../electron.vite.config.js';
import { crmProviders } from '../main/crm/registry.js';
import type { CrmId } from '../shared/crm.js';
import { createShellAgent } from '../main/electron/agent-bridge.js';
import { contentSecurityPolicy } from '../main/electron/policy/csp.js';
import { guardHandler } from '../main/electron/policy/ipc-guard.js';
import { eventMethodName, eventNames, invokeNames, type EventName, type InvokeName } from '../shared/ipc.js';
import type { TerminalAgent } from './terminal-agent.js';

export interface AgentWindow {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };
const MAX_BODY_BYTES = 64 * 1024;
/** The path token is the only gate (anything on this machine can reach loopback); trust it, not the sender. */
const TRUST_ALL = { isAppUrl: () => true, isOwnWebContents: () => true };
const QUIET = { warn: () => undefined, error: () => undefined };

/** The preload's window.agent, over fetch and EventSource relative to the page. */
const BRIDGE_JS = `(() => {
  const base = new URL('./', location.href);
  const listeners = new Map();
  const api = {};
  for (const name of ${JSON.stringify(invokeNames)}) {
    api[name] = async (...args) => {
      const res = await fetch(new URL('invoke/' + name, base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(args) });
      const result = await res.json();
      if (result.ok) return result.value;
      throw new Error(result.error && result.error.message);
    };
  }
  for (const method of ${JSON.stringify(eventNames.map(eventMethodName))}) {
    listeners.set(method, new Set());
    api[method] = (listener) => { listeners.get(method).add(listener); return () => listeners.get(method).delete(listener); };
  }
  new EventSource(new URL('events', base)).onmessage = (e) => {
    const { method, payload } = JSON.parse(e.data);
    listeners.get(method)?.forEach((listener) => listener(payload));
  };
  window.agent = Object.freeze(api);
})();
`;

export interface AgentWindowOptions {
  agent: TerminalAgent;
  /** Where the renderer is built. */
  outDir: string;
  clientIds: Partial<Record<CrmId, string>>;
  /** "Open in CRM" and links: the demo has no browser to drive, so it shows the URL. */
  openExternal: (url: string) => Promise<boolean>;
}

export async function serveAgentWindow({ agent, outDir, clientIds, openExternal }: AgentWindowOptions): Promise<AgentWindow> {
  await build({ ...rendererConfig, configFile: false, logLevel: 'silent', base: './', build: { ...rendererConfig.build, outDir, emptyOutDir: true } });
  const shell = createShellAgent({ core: agent.core, crm: agent.crm, crmProviders: Object.values(crmProviders), clientIds, openExternal });
  const { handlers } = shell;

  const csp = contentSecurityPolicy({ dev: false, forMeta: false }).replace("connect-src 'none'", "connect-src 'self'");
  const index = readFileSync(join(outDir, 'index.html'), 'utf8')
    .replace(/<meta http-equiv="Content-Security-Policy"[^>]*>\s*/, '')
    .replace('<script type="module"', '<script src="./bridge.js"></script>\n    <script type="module"');
  const token = randomBytes(16).toString('hex');
  const prefix = `/${token}/`;
  const streams = new Set<ServerResponse>();
  const push = (name: EventName, payload: unknown) => {
    const frame = `data: ${JSON.stringify({ method: eventMethodName(name), payload })}\n\n`;
    for (const res of streams) res.write(frame);
  };
  const unsubscribe = [
    shell.onState((s) => push('stateChanged', s)),
    shell.onSettings((s) => push('settingsChanged', s)),
    shell.onHistory(() => push('historyChanged', null)),
    shell.onCrmStatus((s) => push('crmStatusChanged', s)),
    shell.onCallPanel((p) => push('callPanelChanged', p)),
  ];

  async function invoke(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!(invokeNames as string[]).includes(name)) return void res.writeHead(404).end();
    let body = '';
    for await (const chunk of req) {
      body += chunk;
      if (body.length > MAX_BODY_BYTES) return void res.writeHead(413).end();
    }
    let args: unknown;
    try {
      args = JSON.parse(body || '[]');
    } catch {
      args = null;
    }
    const sender = { sender: { id: 1 }, senderFrame: { url: 'app://window', parent: null } };
    const handler = guardHandler(name as InvokeName, handlers[name as InvokeName] as never, TRUST_ALL, QUIET);
    const result = await handler(sender, ...(Array.isArray(args) ? args : [args]));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  }

  function serve(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://window').pathname;
    if (!path.startsWith(prefix)) return void res.writeHead(404).end();
    const rest = path.slice(prefix.length);
    if (req.method === 'POST' && rest.startsWith('invoke/')) {
      invoke(rest.slice('invoke/'.length), req, res).catch(() => res.writeHead(500).end());
      return;
    }
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (rest === 'events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    const headers = (file: string) => ({ 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': csp });
    if (rest === '' || rest === 'index.html') return void res.writeHead(200, headers('index.html')).end(index);
    if (rest === 'bridge.js') return void res.writeHead(200, headers('bridge.js')).end(BRIDGE_JS);
    const file = normalize(rest);
    if (!file.startsWith('assets/')) return void res.writeHead(404).end();
    try {
      res.writeHead(200, headers(file)).end(readFileSync(join(outDir, file)));
    } catch {
      res.writeHead(404).end();
    }
  }

  const server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`,
    async close() {
      for (const off of unsubscribe) off();
      for (const res of streams) res.end();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

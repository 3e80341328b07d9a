// The floor: the least a server can do for the same job as the bus's hot path. A bare `ws` server
// on a bare node:http server, in its own child process like the bus. Agents connect with
// `/?to=<key>`; `POST /send?to=<key>,<key>` with a frame as body writes those exact bytes, as a
// text frame, to those connections, then answers 204. No auth, parse, validation, log or fsync:
// HTTP in -> ws out. Same IPC as bench/bus.ts ({t:'ready'}, {t:'memory'}, {t:'exit'}).
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_FRAME_BYTES } from '../src/shared/agent-protocol.js';
import { serveBenchChild } from './stats.js';

const keysOf = (url: string | undefined) => new URL(url ?? '/', 'http://floor').searchParams.get('to')?.split(',') ?? [];

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/floor.ts runs as a forked child');
  const sockets = new Map<string, WebSocket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const frame = Buffer.concat(chunks);
      for (const key of keysOf(req.url)) sockets.get(key)?.send(frame, { binary: false });
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  const wss = new WebSocketServer({ server, maxPayload: MAX_FRAME_BYTES });
  wss.on('connection', (ws, req) => {
    const key = keysOf(req.url)[0] ?? '';
    sockets.set(key, ws);
    ws.on('close', () => sockets.delete(key));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('floor has no TCP address');
  serveBenchChild(address.port);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();

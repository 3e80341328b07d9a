// The connection guard on its own: who is counted as one client, that a trusted proxy is not
// capped, and that an upload a route allowed to be long outlives the request deadline.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { allowLongBody, capConnectionsPerAddress, clientKey, serverTimeouts } from './connections.js';

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function open(port: number, localAddress: string): Socket {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => undefined);
  closers.push(() => socket.destroy());
  return socket;
}

/** Sends a POST whose 20-byte body arrives one byte every 150 ms; resolves with the status line of the answer. */
async function slowPost(port: number, path: string): Promise<string> {
  const socket = open(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: 20\r\n\r\n`);
  let sent = 0;
  const trickle = setInterval(() => (sent++ < 20 && !socket.destroyed ? socket.write('x') : clearInterval(trickle)), 150);
  const [answer] = (await once(socket, 'data')) as [Buffer];
  clearInterval(trickle);
  return answer.toString().split('\r\n')[0]!;
}

describe('clientKey', () => {
  it('counts an IPv4 client by its address and an IPv6 client by its /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80::/64');
  });
});

describe('capConnectionsPerAddress', () => {
  async function cappedServer(trustProxy: string[]): Promise<number> {
    const server: Server = createServer((_req, res) => res.end());
    capConnectionsPerAddress(server, { max: 2, trustProxy, log: Fastify().log });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    closers.push(() => server.closeAllConnections());
    return (server.address() as { port: number }).port;
  }

  it('closes connections beyond the cap from one address, but never a trusted proxy\'s', async () => {
    const port = await cappedServer(['127.0.0.4']);
    const client = [1, 2, 3].map(() => open(port, '127.0.0.5'));
    const proxy = [1, 2, 3].map(() => open(port, '127.0.0.4'));
    await Promise.all([...client, ...proxy].map((s) => once(s, 'connect')));
    await expect.poll(() => client.filter((s) => s.destroyed).length).toBe(1);
    // A request on a proxy connection is answered: none of the three was closed.
    for (const s of proxy) s.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await Promise.all(proxy.map((s) => once(s, 'data')));
    expect(proxy.filter((s) => s.destroyed)).toEqual([]);
  });

  it("gives a closed connection's place back to its address", async () => {
    const port = await cappedServer([]);
    const first = [1, 2].map(() => open(port, '127.0.0.6'));
    await Promise.all(first.map((s) => once(s, 'connect')));
    first[0]!.destroy();
    // Once the server has seen the close, a new connection from the address is served, not refused.
    await expect
      .poll(async () => {
        const next = open(port, '127.0.0.6');
        await once(next, 'connect');
        next.write('GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
        const answered = await Promise.race([once(next, 'data').then(() => true), once(next, 'close').then(() => false)]);
        next.destroy();
        return answered;
      })
      .toBe(true);
  });
});

describe('request deadline', () => {
  async function app(): Promise<number> {
    const fastify: FastifyInstance = Fastify(serverTimeouts({ requestTimeoutMs: 1_000, headersTimeoutMs: 1_000, keepAliveTimeoutMs: 5_000, maxConnectionsPerAddress: 10 }));
    fastify.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    const drain = async (body: unknown) => {
      for await (const chunk of body as Readable) void chunk;
      return { ok: true };
    };
    fastify.post('/upload', async (request) => {
      allowLongBody(request);
      return drain(request.body);
    });
    fastify.post('/plain', async (request) => drain(request.body));
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => fastify.close());
    return (fastify.server.address() as { port: number }).port;
  }

  it('cuts off a slow body with 408, except an upload its route allowed to be long', async () => {
    const port = await app();
    const [plain, upload] = await Promise.all([slowPost(port, '/plain'), slowPost(port, '/upload')]);
    expect(plain).toBe('HTTP/1.1 408 Request Timeout');
    expect(upload).toBe('HTTP/1.1 200 OK');
  });
});

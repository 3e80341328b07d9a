// Slow and greedy clients. Node's deadlines close a connection whose headers or body trickle in
// (a red team held 4,200 slow bodies open until file descriptors ran out and every webhook and
// agent connect failed), and a cap per client address keeps one host from holding more than its
// share. Both leave long-lived clients alone: an agent's WebSocket and a connector's long poll have
// received their whole request before they wait, so no request deadline runs for them.
import type { IncomingMessage, Server } from 'node:http';
import { BlockList, isIPv4, type Socket } from 'node:net';
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problemType } from './problem.js';

export interface ConnectionLimits {
  /** From a request's first byte to its last body byte; a client still sending then is cut off (408). */
  requestTimeoutMs: number;
  /** From a connection's (or a kept-alive request's) first byte to the end of its headers. */
  headersTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Open connections per client address (an IPv6 client: per /64); beyond, new ones are closed at once. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  // Webhooks, pairing and connector batches are a few KB to 256 KB: seconds even on a poor link.
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  // Above the 60 s idle timeout of common load balancers, so they close first and never reuse a
  // connection the bus is closing.
  keepAliveTimeoutMs: 72_000,
  // A whole office usually reaches the bus from one NAT address: each agent holds one WebSocket and
  // briefly one or two requests (pairing, a recording, the OAuth broker), and the PBX's webhooks and
  // remote connector often share the address. 512 leaves room for a ~400-seat site, while one host
  // can hold only that many of the process's descriptors (Node raises its soft limit to the hard one).
  maxConnectionsPerAddress: 512,
};

/**
 * Silence allowed on a connection while a request is in flight (no byte either way): longer than
 * the longest legitimate one (a connector's 30 s long poll; up to 25 s before a relayed recording's
 * first byte), so only a client that stopped reading its answer is cut off.
 */
const IDLE_TIMEOUT_MS = 120_000;

/** Sockets carrying an authenticated upload that may outlast the request deadline. */
const longBodies = new WeakSet<Socket>();

/**
 * For a route that has authenticated its caller and streams a body that may legitimately take
 * longer than the request deadline (a connector relaying a recording). Until the answer is sent,
 * the deadline does not close this connection; the idle timeout still does if bytes stop.
 */
export function allowLongBody(request: FastifyRequest): void {
  const socket = request.raw.socket;
  longBodies.add(socket);
  request.raw.once('close', () => longBodies.delete(socket));
}

/** Fastify options that put the limits on its HTTP server (the idle timeout: idleTimeoutOnRequests). */
export function serverTimeouts(limits: ConnectionLimits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the deadlines every 30 s by default, which would let a slow client stay up to 30 s
    // past them.
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.min(1_000, Math.ceil(limits.headersTimeoutMs / 4)) },
    clientErrorHandler,
  };
}

/**
 * The idle timeout, on each connection once it carries an HTTP request (Node's server then closes
 * it on expiry, as with Fastify's connectionTimeout). Not on every connection: an agent's WebSocket
 * upgrade is no request and needs none, and a socket keeps the timer it was given referenced after
 * ws clears it (~150 bytes of heap per idle agent).
 */
export function idleTimeoutOnRequests(server: Server): void {
  server.on('request', (request: IncomingMessage) => {
    if (request.socket.timeout !== IDLE_TIMEOUT_MS) request.socket.setTimeout(IDLE_TIMEOUT_MS);
  });
}

/** As Fastify's default (answer if possible, then close), as problem+json, but sparing long uploads. */
function clientErrorHandler(this: { log: FastifyBaseLogger }, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && longBodies.has(socket)) return;
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  this.log.debug({ err }, 'client error');
  const [status, slug, title] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request-timeout', 'Request Timeout']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers-too-large', 'Request Header Fields Too Large']
    : [400, 'bad-request', 'Bad Request'];
  const body = JSON.stringify({ type: problemType(slug), title, status, detail: 'The connection is closed.' });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${title}\r\nConnection: close\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** proxy-addr's range names, which RINGBRIDGE_TRUST_PROXY accepts, as subnets. */
const RANGES: Record<string, Array<[string, number, 'ipv4' | 'ipv6']>> = {
  loopback: [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']],
  linklocal: [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']],
  uniquelocal: [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['fc00::', 7, 'ipv6']],
};

function proxyList(trustProxy: string[]): BlockList {
  const list = new BlockList();
  for (const entry of trustProxy) {
    for (const [address, prefix, family] of RANGES[entry] ?? []) list.addSubnet(address, prefix, family);
    if (RANGES[entry]) continue;
    const [address = '', prefix] = entry.split('/');
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

/** An IPv4 client of a dual-stack server appears as ::ffff:a.b.c.d. */
const unmapped = (address: string) => /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;

/**
 * The key a client is counted under: its IPv4 address, or the /64 of its IPv6 address (one host's
 * usual share). The same grouping as the rate limits' (@fastify/rate-limit's normalizeIP).
 */
export function clientKey(peer: string): string {
  const key = normalizeIP(peer);
  return isIPv4(key) ? key : `${key}/64`;
}

/**
 * Caps open connections per client address (see DEFAULT_CONNECTION_LIMITS for the figure).
 * Behind a load balancer every connection comes from the balancer, so peers in `trustProxy`
 * (RINGBRIDGE_TRUST_PROXY) are not counted: the balancer must cap and time out clients itself.
 */
interface Client {
  key: string;
  open: number;
  refused: number;
}

export function capConnectionsPerAddress(server: Server, opts: { max: number; trustProxy: string[]; log: FastifyBaseLogger }): void {
  const proxies = proxyList(opts.trustProxy);
  const clients = new Map<string, Client>();
  // Which client each counted socket belongs to, read by one shared close handler: a closure and a
  // once() wrapper per socket cost ~430 bytes of heap on every idle agent connection (and the
  // client itself, not a copy of its key string per socket).
  const counted = new Map<Socket, Client>();
  function release(this: Socket): void {
    const client = counted.get(this);
    if (client === undefined) return;
    counted.delete(this);
    if (--client.open > 0) return;
    clients.delete(client.key);
    if (client.refused > 0) opts.log.warn({ client: client.key, refused: client.refused }, 'connections refused while the client was at its limit');
  }
  server.on('connection', (socket: Socket) => {
    if (!socket.remoteAddress) return; // already gone
    const address = unmapped(socket.remoteAddress);
    if (proxies.check(address, isIPv4(address) ? 'ipv4' : 'ipv6')) return;
    const key = clientKey(address);
    const client = clients.get(key) ?? { key, open: 0, refused: 0 };
    if (client.open >= opts.max) {
      if (client.refused++ === 0) opts.log.warn({ client: key, open: client.open }, 'connection limit per client address reached; refusing new connections');
      socket.destroy();
      return;
    }
    client.open++;
    clients.set(key, client);
    counted.set(socket, client);
    socket.on('close', release);
  });
}

// The bus's pino logger: JSON lines, with every credential the bus handles redacted wherever it
// could end up in a log line (headers, bodies, error objects) and recording links cut from URLs.
import { pino, type Logger, type LevelWithSilent } from 'pino';

const SECRET_FIELDS = [
  'authorization',
  'x-api-key',
  'webhook-signature',
  'token',
  'deviceToken',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'client_secret',
  'clientSecret',
  'apiClientSecret',
  'connectorToken',
  'pairingCode',
  'webhookSecrets',
  'templateKeys',
  'connectorTokens',
  'masterKey',
];

const quoted = (field: string) => (/^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`);
const join = (prefix: string, field: string) => (quoted(field).startsWith('[') ? `${prefix}${quoted(field)}` : `${prefix}.${field}`);

/** Top level, one level down, and request/response headers. */
export const REDACT_PATHS = [
  ...SECRET_FIELDS.map(quoted),
  ...SECRET_FIELDS.map((f) => join('*', f)),
  ...SECRET_FIELDS.map((f) => join('req.headers', f)),
  ...SECRET_FIELDS.map((f) => join('res.headers', f)),
];

/** A recording link carries a bearer grant in its path; logs keep the route, not the grant. */
export function redactUrl(url: string): string {
  return url.replace(/^(\/v1\/recordings\/)[^?#]+/, '$1[redacted]');
}

interface RequestLike {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Default destination: stdout written asynchronously (sonic-boom), so a log line never blocks the
 * event loop on a write(2). pino flushes it synchronously on process exit; a bus flushes it when
 * it closes (flushLogger).
 */
export function createBusLogger(level: LevelWithSilent, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: false })): Logger {
  return pino(
    {
      name: 'ringbridge-bus',
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        err: pino.stdSerializers.err,
        req: (req: RequestLike) => ({ method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort }),
      },
    },
    destination,
  );
}

/** Waits until lines written so far have left the process (no-op for destinations without a buffer). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

// The connector as a standalone process beside an on-prem PBX that the bus cannot reach: it holds
// the PBX's Call Control socket on the LAN and posts observations to the bus over outbound HTTPS,
// and runs the bus's makecall and recording downloads for it (remote-relay.ts): the one token owner.
//   ringbridge-connector --pbx-url https://pbx.local:5001 --client-id 900 \
//     --bus-url https://bus.example.com --pbx-id pbx_abc [--queue-file /var/lib/ringbridge/queue.db]
// Observations wait for the bus in the queue file (default ./ringbridge-connector-queue.db), so a
// connector restarted while the bus is unreachable still delivers what it had seen.
// Secrets come from the environment only (never argv, which other users can read):
//   RINGBRIDGE_PBX_CLIENT_SECRET (the 3CX API key), RINGBRIDGE_CONNECTOR_TOKEN (printed by the admin CLI).
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Agent } from 'undici';
import { z } from 'zod';
import { pbxApiFor } from '../../pbx/api.js';
import { CallControlConnector } from './connector.js';
import { sqliteObservationQueue } from './remote-queue.js';
import { startCommandRelay } from './remote-relay.js';
import { createRemoteSink } from './remote-sink.js';

const ConfigSchema = z.object({
  pbxUrl: z.string().url(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  busUrl: z.string().url(),
  pbxId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  connectorToken: z.string().min(16),
  queueFile: z.string().min(1),
});

export function readConfig(argv: string[], env: NodeJS.ProcessEnv): z.infer<typeof ConfigSchema> {
  const { values } = parseArgs({
    args: argv,
    options: { 'pbx-url': { type: 'string' }, 'client-id': { type: 'string' }, 'bus-url': { type: 'string' }, 'pbx-id': { type: 'string' }, 'queue-file': { type: 'string' } },
  });
  return ConfigSchema.parse({
    pbxUrl: values['pbx-url'] ?? env.RINGBRIDGE_PBX_URL,
    clientId: values['client-id'] ?? env.RINGBRIDGE_PBX_CLIENT_ID,
    clientSecret: env.RINGBRIDGE_PBX_CLIENT_SECRET,
    busUrl: values['bus-url'] ?? env.RINGBRIDGE_BUS_URL,
    pbxId: values['pbx-id'] ?? env.RINGBRIDGE_PBX_ID,
    connectorToken: env.RINGBRIDGE_CONNECTOR_TOKEN,
    queueFile: values['queue-file'] ?? env.RINGBRIDGE_CONNECTOR_QUEUE ?? 'ringbridge-connector-queue.db',
  });
}

export async function runRemoteConnector(config: z.infer<typeof ConfigSchema>, logger = pino({ name: 'ringbridge-connector' })) {
  // The bus assigns the tenant from the authenticated PBX; it is not known (or sent) here.
  const api = pbxApiFor({ baseUrl: config.pbxUrl, clientId: config.clientId, clientSecret: config.clientSecret }, { pbxId: config.pbxId, tenantId: 'assigned-by-bus' });
  const queue = sqliteObservationQueue(config.queueFile);
  if (queue.size() > 0) logger.info({ pbxId: config.pbxId, pending: queue.size() }, 'sending observations left by the last run');
  // Its own connections to the bus, so stopping leaves none half-open (a poll being set up, say).
  const toBus = new Agent();
  const sink = createRemoteSink({ busUrl: config.busUrl, pbxId: config.pbxId, connectorToken: config.connectorToken, queue, logger, dispatcher: toBus });
  const connector = new CallControlConnector({ api, sink, logger });
  // Dialling and recordings for the bus run here too, so the bus never needs the PBX or its key.
  const relay = startCommandRelay({ busUrl: config.busUrl, pbxId: config.pbxId, connectorToken: config.connectorToken, api, logger, dispatcher: toBus });
  connector.on('ready', () => logger.info({ pbxId: config.pbxId }, 'call-control connected, state read'));
  connector.on('disconnected', ({ retryInMs }: { retryInMs: number }) => logger.warn({ pbxId: config.pbxId, retryInMs }, 'call-control disconnected; reconnecting'));
  connector.start();
  return {
    async stop() {
      await Promise.all([connector.stop(), relay.stop()]);
      await Promise.race([sink.flush(), new Promise((r) => setTimeout(r, 5000))]);
      await sink.close();
      await toBus.destroy();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const logger = pino({ name: 'ringbridge-connector' });
  try {
    const running = await runRemoteConnector(readConfig(process.argv.slice(2), process.env), logger);
    const shutdown = () => void running.stop().then(() => process.exit(0));
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  } catch (err) {
    logger.fatal({ err: err instanceof z.ZodError ? z.prettifyError(err) : (err as Error).message }, 'connector cannot start');
    process.exit(1);
  }
}

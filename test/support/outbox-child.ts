// A separate agent process running the outbox against a CRM simulator, so a test can SIGKILL it
// mid-write. Input via env: OUTBOX_DIR, SIM_URL, ACCESS_TOKEN, BUS_URL, EVENTS (JSON CallEvent[]).
import { hubspotProvider } from '../../src/main/crm/hubspot/index.js';
import { Outbox } from '../../src/main/outbox/outbox.js';
import type { CallEvent } from '../../src/shared/call-event.js';
import { AGENT_EXT, silentLogger } from './outbox-fixtures.js';

const env = (name: string) => process.env[name] ?? (() => { throw new Error(`${name} missing`); })();

const session = {
  context: {},
  accessToken: async () => env('ACCESS_TOKEN'),
  refreshAfterUnauthorized: async () => env('ACCESS_TOKEN'),
};
const outbox = new Outbox({
  dataDir: env('OUTBOX_DIR'),
  agentExtension: AGENT_EXT,
  adapter: hubspotProvider.create(session, { origin: env('SIM_URL') }),
  bus: { requestRecording: async (eventId) => ({ url: `${env('BUS_URL')}/recordings/${encodeURIComponent(eventId)}` }) },
  history: { setCrmState: () => undefined },
  resolveContact: async () => null,
  logger: silentLogger,
});
for (const event of JSON.parse(env('EVENTS')) as CallEvent[]) outbox.enqueue(event);
process.send?.('enqueued');

// Composition root of the agent: builds the plain-TypeScript core with the Electron shell's ports
// and hands the result back to the shell. No electron import here; the shell owns the lifecycle.
import pino from 'pino';
import { CountryCodeSchema } from '../shared/phone.js';
import { MemoryContactSource } from './contacts/index.js';
import { createAgentCore } from './core.js';
import { crmProviders } from './crm/registry.js';
import { createShellAgent, dialNotice } from './electron/agent-bridge.js';
import { runShell } from './electron/app.js';

const log = pino({
  name: 'ringbridge-agent',
  // Belt and braces: these never reach a log line even if a caller passes them by mistake.
  redact: { paths: ['token', 'deviceToken', 'code', 'accessToken', 'refreshToken', '*.token', '*.deviceToken', '*.code'], censor: '[redacted]' },
});

runShell({
  log,
  async build(ports) {
    const country = CountryCodeSchema.safeParse(ports.systemCountry);
    const core = await createAgentCore({
      dataDir: ports.userDataDir,
      secretStore: ports.secrets,
      notifier: ports.notifier,
      confirm: { confirmDial: ({ display }) => ports.confirmDial(display) },
      feedback: {
        dialFeedback(feedback) {
          const notice = dialNotice(feedback);
          if (notice) ports.notifier.notice(notice.title, notice.body);
        },
      },
      // The CRM adapters fill the contact index in the CRM issue; until then lookups find nobody.
      contactSource: new MemoryContactSource(),
      crmUrls: { contactUrl: () => null, newContactUrl: () => null },
      logger: log,
      ...(country.success ? { defaultCountry: country.data } : {}),
    });
    return createShellAgent({ core, crmProviders: Object.values(crmProviders) });
  },
});

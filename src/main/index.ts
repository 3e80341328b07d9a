// Composition root of the agent: builds the plain-TypeScript core and its CRM link with the
// Electron shell's ports and hands the result back to the shell. No electron import here; the
// shell owns the lifecycle.
import pino from 'pino';
import { CountryCodeSchema } from '../shared/phone.js';
import { createAgentCore } from './core.js';
import { createCrmLink } from './crm-link/index.js';
import type { CrmId } from '../shared/crm.js';
import { crmProviders } from './crm/registry.js';
import { createShellAgent, dialNotice } from './electron/agent-bridge.js';
import { runShell } from './electron/app.js';

const log = pino({
  name: 'ringbridge-agent',
  // Belt and braces: these never reach a log line even if a caller passes them by mistake.
  redact: { paths: ['token', 'deviceToken', 'code', 'accessToken', 'refreshToken', '*.token', '*.deviceToken', '*.code'], censor: '[redacted]' },
});

// The app's public OAuth client ids, fixed when electron-vite builds; a CRM left empty is shown
// as "not configured" and cannot be signed in to.
const crmClientIds: Partial<Record<CrmId, string>> = {
  hubspot: import.meta.env.MAIN_VITE_HUBSPOT_CLIENT_ID,
  salesforce: import.meta.env.MAIN_VITE_SALESFORCE_CLIENT_ID,
  zoho: import.meta.env.MAIN_VITE_ZOHO_CLIENT_ID,
  highlevel: import.meta.env.MAIN_VITE_HIGHLEVEL_CLIENT_ID,
};

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
      logger: log,
      ...(country.success ? { defaultCountry: country.data } : {}),
    });
    const crm = await createCrmLink({
      core,
      dataDir: ports.userDataDir,
      secretStore: ports.secrets,
      logger: log,
      // Sign-in pages open only through the checked gate; a refused page fails the sign-in at once.
      openBrowser: async (url) => {
        if (!(await ports.openExternal(url))) throw new Error('the sign-in page address was refused');
      },
      clientIds: crmClientIds,
    });
    const agent = createShellAgent({ core, crm, crmProviders: Object.values(crmProviders), clientIds: crmClientIds, openExternal: ports.openExternal });
    // Last: the history and the outbox (the link) listen now, so the bus's first event reaches both.
    core.start();
    return agent;
  },
});

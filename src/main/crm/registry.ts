// Every CRM the agent supports: adding one is its folder plus one import and one line here.
import type { CrmProvider } from './port.js';
import type { CrmId } from '../../shared/crm.js';
import { highLevelProvider } from './highlevel/index.js';
import { hubspotProvider } from './hubspot/index.js';
import { salesforceProvider } from './salesforce/index.js';
import { zohoProvider } from './zoho/index.js';

export const crmProviders: Readonly<Record<CrmId, CrmProvider>> = {
  hubspot: hubspotProvider,
  salesforce: salesforceProvider,
  zoho: zohoProvider,
  highlevel: highLevelProvider,
};

export function crmProvider(id: CrmId): CrmProvider {
  return crmProviders[id];
}

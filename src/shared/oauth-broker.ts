// The bus token broker's contract (POST /v1/oauth/:crm/token): the agent sends the grant as JSON
// with its device token; the bus adds the client secret and answers with the CRM's own token
// response, to which a success also gets the app settings in BrokerAppContext.
import { z } from 'zod';
import type { CrmId } from './crm.js';

export const OAUTH_TOKEN_ROUTE = '/v1/oauth/:crm/token';

export function oauthTokenPath(crm: CrmId): string {
  return OAUTH_TOKEN_ROUTE.replace(':crm', crm);
}

export const BrokerTokenRequestSchema = z.discriminatedUnion('grant_type', [
  z.strictObject({
    grant_type: z.literal('authorization_code'),
    code: z.string().min(1).max(4096),
    redirect_uri: z.url().max(2048),
    code_verifier: z.string().regex(/^[A-Za-z0-9\-._~]{43,128}$/).optional(),
  }),
  z.strictObject({
    grant_type: z.literal('refresh_token'),
    refresh_token: z.string().min(1).max(4096),
  }),
]);
export type BrokerTokenRequest = z.infer<typeof BrokerTokenRequestSchema>;

/**
 * App settings the bus adds to a successful token answer (where the CRM did not send the key) and
 * the agent's session then reads from its context: HighLevel's Call conversation provider id,
 * which no token response names.
 */
export interface BrokerAppContext {
  conversationProviderId?: string;
}

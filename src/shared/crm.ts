// The CRMs Ringbridge logs calls in: the agent (adapters, sign-in, window) and the bus (token
// broker) name them with these ids, so a CRM is added here once.
import { z } from 'zod';

export const CrmIdSchema = z.enum(['hubspot', 'salesforce', 'zoho', 'highlevel']);
export type CrmId = z.infer<typeof CrmIdSchema>;

// Pairing: the agent app exchanges the one-time code from the admin for its device credential.
// POST /v1/pair on the bus.
import { z } from 'zod';

export const PAIR_PATH = '/v1/pair';

export const PairRequestSchema = z.object({ code: z.string().min(6).max(64) });
export const PairResponseSchema = z.object({
  deviceToken: z.string().min(16),
  agentId: z.string(),
  tenantId: z.string(),
  extension: z.string(),
  name: z.string(),
  crmUser: z.string().nullable(),
  /** Absolute ws(s):// URL of the agent stream. */
  wsUrl: z.string(),
});
export type PairResponse = z.infer<typeof PairResponseSchema>;

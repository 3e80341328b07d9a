// What the agent's Recent calls keep per call: main's history and outbox write these values and
// the window shows them (through ipc.ts's HistoryEntry).
import { z } from 'zod';

/** Where the call's CRM log stands. */
export const CrmLogState = z.enum(['pending', 'logged', 'recording_attached', 'needs_attention', 'not_applicable']);
export type CrmLogState = z.infer<typeof CrmLogState>;

/** How the call went for this agent (`ringing` until it is decided). */
export const HistoryOutcome = z.enum(['ringing', 'answered', 'answered_elsewhere', 'missed', 'not_answered']);
export type HistoryOutcome = z.infer<typeof HistoryOutcome>;

// What a 3CX V20 PBX sends through the CRM-integration template we generate for it
// (template.ts renders the XML). Lookup: GET .../lookup?number=[Number]&direction=[CallDirection]
// with header X-Api-Key. Journal: POST .../journal with the JSON body below.
// 3CX may leave a variable unfilled as the literal text "[Var]": such values count as empty.
import { z } from 'zod';

const unfilled = (v: unknown) => (typeof v === 'string' && /^\[.*\]$/.test(v.trim()) ? '' : v);
const TemplateString = (max: number) => z.preprocess(unfilled, z.string().max(max));

export const TEMPLATE_KEY_HEADER = 'x-api-key';

export const LookupQuerySchema = z.object({
  number: TemplateString(64).pipe(z.string().min(1)),
  direction: TemplateString(16).optional(),
  /** Extension the call is presented to, when the template can pass it. */
  agent: TemplateString(16).optional(),
});

/** CallType values 3CX uses in journaling; note the spelling "Notanswered". */
export const TemplateCallType = z.enum(['Inbound', 'Missed', 'Outbound', 'Notanswered']);

export const JournalBodySchema = z.object({
  callType: TemplateCallType,
  direction: TemplateString(16).optional(),
  number: TemplateString(64).pipe(z.string().min(1)),
  name: TemplateString(200).optional(),
  agent: TemplateString(16).pipe(z.string().regex(/^\d{1,16}$/)),
  agentEmail: TemplateString(200).optional(),
  /** Seconds or hh:mm:ss (3CX versions differ). */
  duration: TemplateString(16).optional(),
  dateTime: TemplateString(64).optional(),
  startUtc: TemplateString(40).optional(),
  endUtc: TemplateString(40).optional(),
  queue: TemplateString(16).optional(),
  entityId: TemplateString(128).optional(),
  recordingUrl: TemplateString(2048).optional(),
});
export type JournalBody = z.infer<typeof JournalBodySchema>;

/** The lookup answer our template's Rules/Variables read. `{}` means "not found". */
export const LookupAnswerSchema = z.object({
  contact: z
    .object({
      id: z.string(),
      firstName: z.string(),
      lastName: z.string(),
      company: z.string(),
      phone: z.string(),
      url: z.string(),
    })
    .optional(),
});
export type LookupAnswer = z.infer<typeof LookupAnswerSchema>;

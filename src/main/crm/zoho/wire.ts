// Zoho CRM v8 wire shapes we read, checked with zod. Field API names follow record.json /
// attachments.json (zoho/crm-oas v8.0); only the fields the adapter uses are declared.
import { z } from 'zod';

const Lookup = z.object({ id: z.string(), name: z.string().nullish() });

/** A Contacts or Leads record as the search and list endpoints return it. */
export const PersonRecord = z.object({
  id: z.string(),
  Full_Name: z.string().nullish(),
  First_Name: z.string().nullish(),
  Last_Name: z.string().nullish(),
  Phone: z.string().nullish(),
  Mobile: z.string().nullish(),
  Home_Phone: z.string().nullish(),
  Other_Phone: z.string().nullish(),
  Asst_Phone: z.string().nullish(),
  /** Leads carry the company as text, Contacts as a lookup to Accounts. */
  Company: z.string().nullish(),
  Account_Name: Lookup.nullish(),
  Owner: Lookup.nullish(),
  Last_Activity_Time: z.string().nullish(),
  Modified_Time: z.string().nullish(),
});
export type PersonRecord = z.infer<typeof PersonRecord>;

const Info = z.object({
  more_records: z.boolean().optional(),
  next_page_token: z.string().nullish(),
});

/** Response_Wrapper; Zoho answers 204 with no body when nothing matches, parsed as undefined. */
export const PersonPage = z.object({ data: z.array(PersonRecord), info: Info.optional() }).optional();

export const IdPage = z.object({ data: z.array(z.object({ id: z.string() })) }).optional();

/** GET /crm/v8/users (users.json Response_Wrapper): id and e-mail of each user; 204 when none. */
export const UsersPage = z
  .object({
    users: z.array(z.object({ id: z.string(), email: z.string().nullish() })),
    info: z.object({ more_records: z.boolean().nullish() }).nullish(),
  })
  .optional();

/** One entry of a write response: Success_Response or API_Exception. */
export const WriteResult = z.object({
  status: z.string(),
  code: z.string(),
  message: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type WriteResult = z.infer<typeof WriteResult>;

export const WriteResponse = z.object({ data: z.array(WriteResult).min(1) });

export const AttachmentPage = z
  .object({ data: z.array(z.object({ id: z.string(), File_Name: z.string().nullish() })), info: Info.optional() })
  .optional();

/** GET /Deals/search?criteria=…&fields=Deal_Name,Stage,Created_Time (204 = none). */
export const DealPage = z
  .object({ data: z.array(z.object({ id: z.string(), Deal_Name: z.string().nullable().optional(), Stage: z.string().nullable().optional(), Created_Time: z.string().nullable().optional() })) })
  .optional();

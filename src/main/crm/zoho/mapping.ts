// Pure Zoho mapping: data centres, record <-> port shapes, criteria escaping. No I/O here.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { CallLogInput, CrmCallRecord, CrmContact, FollowUpTaskInput } from '../port.js';
import type { PersonRecord } from './wire.js';
import { callKeyTag } from '../compose.js';

/**
 * Call_Result, a picklist on Calls: the values of Zoho's standard layout [U: read from Zoho's Calls
 * layout as commonly shipped; an account may have edited them, which GET settings/fields would show].
 */
export const ZOHO_CALL_RESULTS: ReadonlyArray<{ id: string; label: string }> = [
  'Interested',
  'Not interested',
  'No response/Busy',
  'Requested more info',
  'Requested call back',
  'Invalid number',
].map((label) => ({ id: label, label }));
import { withOwnerNote, type WriteOwner } from '../owner.js';

// The Calls custom field stores the shared tag: fixed length and free of criteria metacharacters.
export { callKeyTag };

export type ZohoPersonModule = 'Contacts' | 'Leads';

/** Phone-type fields of the standard layouts (custom phone fields are still covered by `phone=` search). */
export const PHONE_FIELDS: Record<ZohoPersonModule, readonly (keyof PersonRecord)[]> = {
  Contacts: ['Phone', 'Mobile', 'Home_Phone', 'Other_Phone', 'Asst_Phone'],
  Leads: ['Phone', 'Mobile'],
};

export const PERSON_FIELDS: Record<ZohoPersonModule, string> = {
  Contacts: 'Full_Name,First_Name,Last_Name,Phone,Mobile,Home_Phone,Other_Phone,Asst_Phone,Account_Name,Owner,Last_Activity_Time,Modified_Time',
  Leads: 'Full_Name,First_Name,Last_Name,Phone,Mobile,Company,Owner,Last_Activity_Time,Modified_Time',
};

/** The API domain of each data centre, keyed by the `location` Zoho puts on the OAuth redirect. */
export const API_DOMAIN_BY_LOCATION: Readonly<Record<string, string>> = {
  us: 'https://www.zohoapis.com',
  eu: 'https://www.zohoapis.eu',
  in: 'https://www.zohoapis.in',
  au: 'https://www.zohoapis.com.au',
  jp: 'https://www.zohoapis.jp',
  cn: 'https://www.zohoapis.com.cn',
  ca: 'https://www.zohoapis.ca',
  sa: 'https://www.zohoapis.sa',
  uk: 'https://www.zohoapis.uk',
};

const ZOHO_API_HOST = /^(?:www\.)?zohoapis\.(com|eu|in|com\.au|jp|com\.cn|ca|sa|uk)$/;

/**
 * Zoho's accounts servers, one per data centre (multi-DC pages cited in the notes). Canada is listed
 * as accounts.zohocloud.ca by Zoho's OAuth multi-DC page; accounts.zoho.ca is kept for older links.
 */
export const ZOHO_ACCOUNTS_HOSTS: readonly string[] = [
  'accounts.zoho.com',
  'accounts.zoho.eu',
  'accounts.zoho.in',
  'accounts.zoho.com.au',
  'accounts.zoho.jp',
  'accounts.zoho.ca',
  'accounts.zohocloud.ca',
  'accounts.zoho.sa',
  'accounts.zoho.uk',
  'accounts.zoho.com.cn',
];

/**
 * Whether the `accounts-server` on Zoho's redirect may receive the code and refresh token: an https
 * Zoho accounts host, or, when `origin` is set (simulators), a server on that origin's host.
 */
export function isZohoAccountsServer(server: URL, origin?: string): boolean {
  if (server.protocol === 'https:' && server.port === '' && ZOHO_ACCOUNTS_HOSTS.includes(server.hostname)) return true;
  if (origin === undefined) return false;
  const sim = new URL(origin);
  return server.protocol === sim.protocol && server.hostname === sim.hostname;
}

/**
 * The API base every call goes to: the DC the token came from. A token is only ever sent to a
 * Zoho API host, or, when `origin` is set (simulators), to that origin's host.
 */
export function resolveApiBase(context: Readonly<Record<string, string>>, origin?: string): string {
  const location = context.location?.toLowerCase();
  const candidate =
    context.api_domain ?? (location ? API_DOMAIN_BY_LOCATION[location] : undefined) ?? origin ?? API_DOMAIN_BY_LOCATION.us!;
  const url = new URL(candidate);
  const trusted =
    (url.protocol === 'https:' && ZOHO_API_HOST.test(url.hostname)) ||
    (origin !== undefined && url.hostname === new URL(origin).hostname);
  if (!trusted) throw new Error(`Zoho api_domain ${url.origin} is not a Zoho API host`);
  return url.origin;
}

/** Browser host of the CRM web UI for an API domain (www.zohoapis.eu -> crm.zoho.eu); simulators serve both. */
export function webBaseFor(apiBase: string): string {
  const match = ZOHO_API_HOST.exec(new URL(apiBase).hostname);
  if (!match) return apiBase;
  return match[1] === 'ca' ? 'https://crm.zohocloud.ca' : `https://crm.zoho.${match[1]}`;
}

/** Escapes a criteria value: `(`, `)` and `,` take a backslash (URL encoding is done by URLSearchParams). */
export function criteriaValue(value: string): string {
  return value.replace(/[(),\\]/g, (c) => `\\${c}`);
}

/** Call_Duration is "mm:ss" with minutes unbounded (a 75-minute call is "75:00"). */
export function formatCallDuration(totalSec: number): string {
  const sec = Math.max(0, Math.round(totalSec));
  return `${String(Math.floor(sec / 60)).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}`;
}

/** Zoho datetimes: ISO 8601 to the second with a numeric offset. */
export function zohoDateTime(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19)}+00:00`;
}

export type ZohoCallType = 'Inbound' | 'Outbound' | 'Missed';

export function callType(input: Pick<CallLogInput, 'direction' | 'outcome'>): ZohoCallType {
  if (input.direction !== 'inbound') return 'Outbound';
  return input.outcome === 'answered' ? 'Inbound' : 'Missed';
}

const OUTCOME_TEXT: Record<CallLogInput['outcome'], string> = {
  answered: 'Answered',
  missed: 'Missed',
  no_answer: 'No answer',
  busy: 'Busy',
  failed: 'Failed',
};

/** The Calls record for a call; `keyField` is the custom field holding the callKey tag. */
export function toCallRecord(input: CallLogInput, keyField: string): Record<string, unknown> {
  const type = callType(input);
  // Calls has no in-progress status: the live record says so in words, with no duration yet.
  const description = [`Outcome: ${input.status === 'in_progress' ? 'In progress' : OUTCOME_TEXT[input.outcome]}`, `From ${input.from} to ${input.to}`, input.notes]
    .filter((line) => line.length > 0)
    .join('\n');
  const record: Record<string, unknown> = {
    Subject: input.subject,
    Call_Type: type,
    Call_Start_Time: zohoDateTime(input.startedAt),
    Description: description,
    [keyField]: callKeyTag(input.callKey),
  };
  if (input.disposition) record.Call_Result = input.disposition.label;
  // A missed call has no talk time; Zoho asks for a duration only on calls that happened.
  if (type !== 'Missed') record.Call_Duration = formatCallDuration(input.durationSec);
  return withOwnerAndContact(record, input);
}

/** The call-back Task: due date (date only), open, linked like the call (Who_Id, or What_Id for a Lead). */
/** The follow-up Tasks record; `owner` is the agent's CRM user as resolved (owner.ts). */
export function toFollowUpTask(input: FollowUpTaskInput, call: CrmCallRecord, keyField: string, owner: WriteOwner): Record<string, unknown> {
  const record: Record<string, unknown> = {
    Subject: input.subject,
    Due_Date: input.dueAt.slice(0, 10),
    Status: 'Not Started',
    Priority: 'High',
    Description: withOwnerNote(`Missed call, logged as ${call.url ?? call.id}`, owner),
    [keyField]: callKeyTag(input.callKey),
  };
  return withOwnerAndContact(record, { ...input, ownerId: owner.id });
}

/** Owner, and the link to the person: Who_Id for a Contact, What_Id + $se_module for a Lead. */
function withOwnerAndContact(
  record: Record<string, unknown>,
  input: { ownerId?: string | null; contact?: { id: string; kind: string } | null; deal?: { id: string } | null },
): Record<string, unknown> {
  if (input.ownerId) record.Owner = { id: input.ownerId };
  if (input.contact?.kind === 'Leads') {
    record.What_Id = { id: input.contact.id };
    record.$se_module = 'Leads';
  } else if (input.contact) {
    record.Who_Id = { id: input.contact.id };
    // The contact's picked deal takes the What_Id a lead would (a lead's call has no deal).
    if (input.deal) {
      record.What_Id = { id: input.deal.id };
      record.$se_module = 'Deals';
    }
  }
  return record;
}

export function toContact(record: PersonRecord, module: ZohoPersonModule, url: string): CrmContact {
  const name =
    record.Full_Name?.trim() || [record.First_Name, record.Last_Name].filter(Boolean).join(' ').trim() || '(no name)';
  const phones = PHONE_FIELDS[module].map((f) => record[f]).filter((v): v is string => typeof v === 'string' && v.trim() !== '');
  return {
    id: record.id,
    kind: module,
    name,
    company: record.Company ?? record.Account_Name?.name ?? null,
    phones,
    ownerId: record.Owner?.id ?? null,
    lastActivityAt: record.Last_Activity_Time ?? null,
    url,
    updatedAt: record.Modified_Time ?? null,
  };
}

/**
 * The forms we search a number in, each one (the adapter merges the matches): E.164, the national
 * digits and the national dialled form, because Zoho matches a phone search against the stored
 * text and one org can hold the same number with and without the country code.
 */
export function phoneSearchVariants(e164: string): string[] {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return [e164];
  // National significant number, and the national dialling form where it adds a trunk prefix (UK 020…).
  const nationalDialled = parsed.formatNational().replace(/\D/g, '');
  return [...new Set([e164, parsed.nationalNumber, nationalDialled])];
}

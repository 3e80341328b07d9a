// Zoho CRM v8 adapter: contact lookup by phone, Calls records, attachments, incremental sync.
// Every call goes to the data centre the token belongs to (session.context.api_domain).
import type { RequestBudget } from '../budget.js';
import { crmFetch, multipartForm, type CrmErrorDetail, type CrmRequest } from '../http.js';
import { OwnerResolver } from '../owner.js';
import {
  CrmError,
  firstSend,
  type ContactPage,
  type CrmAdapter,
  type CrmCallRecord,
  type CrmContact,
  type CrmDeal,
  type CrmSession,
  type RecordingFile,
  type StepMemo,
} from '../port.js';
import {
  PERSON_FIELDS,
  callKeyTag,
  criteriaValue,
  phoneSearchVariants,
  resolveApiBase,
  toCallRecord,
  toContact,
  toFollowUpTask,
  webBaseFor,
  ZOHO_CALL_RESULTS,
  type ZohoPersonModule,
} from './mapping.js';
import { AttachmentPage, DealPage, IdPage, PersonPage, UsersPage, WriteResponse, type WriteResult } from './wire.js';

/** Default API name of the Calls custom field holding the call key (see README: org setup). */
export const DEFAULT_CALL_KEY_FIELD = 'Ringbridge_Call_Key';
const SYNC_PAGE_SIZE = 200;
const USERS_PAGE_SIZE = 200;

interface SyncCursor {
  /** If-Modified-Since of the pass in progress; null = full sync. */
  since: string | null;
  pageToken: string | null;
  /** Highest Modified_Time seen in this pass: the next pass starts there. */
  high: string | null;
}

export interface ZohoAdapterOptions {
  origin?: string;
  fetch?: typeof fetch;
  budget?: RequestBudget;
}

export function createZohoAdapter(session: CrmSession, opts: ZohoAdapterOptions = {}): CrmAdapter {
  const apiBase = resolveApiBase(session.context, opts.origin);
  const webBase = webBaseFor(apiBase);
  const orgPath = session.context.org_id ? `org${session.context.org_id}/` : '';
  const keyField = session.context.call_key_field ?? DEFAULT_CALL_KEY_FIELD;

  // Zoho wants `Zoho-oauthtoken`, not `Bearer`.
  const call = <T>(req: Omit<CrmRequest<T>, 'url'> & { path: string }): Promise<T> =>
    crmFetch(session, { ...req, url: `${apiBase}/crm/v8${req.path}` }, {
      fetch: opts.fetch,
      budget: opts.budget,
      authScheme: 'Zoho-oauthtoken',
      classify: classifyZohoError,
    });

  const recordUrl = (module: string, id: string): string => `${webBase}/crm/${orgPath}tab/${module}/${id}`;

  /**
   * Every record of the module stored in any of the number's forms: one org can hold the same
   * caller as "+61 2 9876 5432" on one contact and "(02) 9876 5432" on another. One form at a time
   * (Zoho's concurrency limit is per org); a record found by two forms is returned once.
   */
  async function searchModule(module: ZohoPersonModule, e164: string): Promise<CrmContact[]> {
    const found = new Map<string, CrmContact>();
    for (const phone of phoneSearchVariants(e164)) {
      const page = await call({ path: `/${module}/search`, query: { phone, fields: PERSON_FIELDS[module] }, schema: PersonPage });
      for (const r of page?.data ?? []) if (!found.has(r.id)) found.set(r.id, toContact(r, module, recordUrl(module, r.id)));
    }
    return [...found.values()];
  }

  /** The Calls or Tasks record carrying this call's key tag in the org's key field. */
  async function findByKey(module: 'Calls' | 'Tasks', callKey: string): Promise<string | null> {
    const criteria = `(${keyField}:equals:${criteriaValue(callKeyTag(callKey))})`;
    const page = await call({ path: `/${module}/search`, query: { criteria, fields: 'id' }, schema: IdPage });
    return page?.data[0]?.id ?? null;
  }

  const callRecord = (id: string): CrmCallRecord => ({ id, url: recordUrl('Calls', id) });

  // Owner.id takes a numeric user id; an e-mail is found among the active users (users.json has no
  // search by e-mail), page by page.
  const owners = new OwnerResolver({
    crm: 'Zoho',
    idName: 'a user id',
    isId: (user) => /^\d+$/.test(user),
    userByEmail: async (email) => {
      for (let pageNo = 1; ; pageNo++) {
        const page = await call({ path: '/users', query: { type: 'ActiveUsers', page: pageNo, per_page: USERS_PAGE_SIZE }, schema: UsersPage });
        const user = page?.users.find((u) => u.email?.toLowerCase() === email && /^\d+$/.test(u.id));
        if (user) return { id: user.id };
        if (!page?.info?.more_records) return null;
      }
    },
  });

  return {
    id: 'zoho',

    async findContactsByPhone(e164) {
      const [contacts, leads] = await Promise.all([searchModule('Contacts', e164), searchModule('Leads', e164)]);
      return [...contacts, ...leads];
    },

    contactUrl: (contact) => recordUrl(contact.kind, contact.id),

    // Zoho's create form takes no prefill parameters we could confirm; the agent types the number.
    newContactUrl: () => `${webBase}/crm/${orgPath}tab/Contacts/create`,

    resolveOwner: (crmUser) => owners.resolve(crmUser),

    async logCall(configured, memo?: StepMemo) {
      const input = await owners.forCall(configured);
      // Calls has no upsert (the v8 upsert page does not list it): search the key first (when an
      // earlier attempt may have inserted it), then insert. With the key field set to "no
      // duplicates", a racing or resent insert answers DUPLICATE_DATA.
      const existing = firstSend(memo, 'createSent') ? null : await findByKey('Calls', input.callKey);
      if (existing) return callRecord(existing);
      const response = await call({
        method: 'POST',
        path: '/Calls',
        json: { data: [toCallRecord(input, keyField)] },
        schema: WriteResponse,
        idempotent: true, // a resent insert meets the unique key field: DUPLICATE_DATA, handled below
      });
      const result = response.data[0]!;
      if (result.status === 'success') return callRecord(requireId(result));
      if (result.code === 'DUPLICATE_DATA') {
        const id = duplicateRecordId(result) ?? (await findByKey('Calls', input.callKey));
        if (id) return callRecord(id);
      }
      throw rejectedFrom(result);
    },

    async updateCall(recordId, configured) {
      const input = await owners.forCall(configured);
      // A deal picked before and dropped since is unlinked: What_Id null unless a lead or deal holds it.
      const fields = { What_Id: null, ...toCallRecord(input, keyField) };
      const response = await call({
        method: 'PUT',
        path: `/Calls/${encodeURIComponent(recordId)}`,
        json: { data: [fields] },
        schema: WriteResponse,
      });
      const result = response.data[0]!;
      if (result.status !== 'success') throw rejectedFrom(result);
      return callRecord(recordId);
    },

    // A contact's Deals (Contact_Name lookup) not in a closed stage (Zoho's standard stages
    // "Closed Won" and "Closed Lost…" start with "Closed"). A lead has no deals.
    async findOpenDeals(contact) {
      if (contact.kind !== 'Contacts') return [];
      const criteria = `(Contact_Name:equals:${criteriaValue(contact.id)})`;
      const page = await call({ path: '/Deals/search', query: { criteria, fields: 'Deal_Name,Stage,Created_Time' }, schema: DealPage });
      return (page?.data ?? [])
        .filter((d) => !/^closed/i.test(d.Stage ?? ''))
        .sort((a, b) => (b.Created_Time ?? '').localeCompare(a.Created_Time ?? ''))
        .slice(0, 20)
        .map((d): CrmDeal => ({ id: d.id, kind: 'Deals', name: d.Deal_Name ?? d.id, stage: d.Stage ?? null, url: recordUrl('Deals', d.id) }));
    },

    // A new caller is a Lead (Zoho's module for people not yet qualified); Last_Name is its one
    // mandatory field, so a caller without a name is named after the number.
    async createContact(input) {
      const owner = await owners.forWrite(input.ownerId);
      const words = input.name?.trim().split(/\s+/).filter(Boolean) ?? [];
      const lead: Record<string, unknown> = { Last_Name: words.length > 0 ? words.slice(-1)[0] : input.e164, Phone: input.e164 };
      if (words.length > 1) lead.First_Name = words.slice(0, -1).join(' ');
      if (owner.id) lead.Owner = { id: owner.id };
      const response = await call({ method: 'POST', path: '/Leads', json: { data: [lead] }, schema: WriteResponse });
      const result = response.data[0]!;
      if (result.status !== 'success') throw rejectedFrom(result);
      const id = requireId(result);
      const name = words.length > 0 ? words.join(' ') : input.e164;
      return { id, kind: 'Leads', name, company: null, phones: [input.e164], ownerId: owner.id, lastActivityAt: null, url: recordUrl('Leads', id), updatedAt: null };
    },

    async attachRecording(record, file: RecordingFile, _callKey, memo?: StepMemo) {
      const path = `/Calls/${encodeURIComponent(record.id)}/Attachments`;
      // The upload is sent once per attempt: only an earlier attempt can have left a copy.
      if (!firstSend(memo, 'uploadSent') && (await hasAttachment(path, file.fileName))) return;
      const form = multipartForm({}, { field: 'file', fileName: file.fileName, contentType: file.contentType, data: file.data });
      const response = await call({ method: 'POST', path, form, schema: WriteResponse });
      const result = response.data[0]!;
      if (result.status !== 'success') throw rejectedFrom(result);
    },

    // Tasks module (insert-records v8 lists it), keyed like Calls: search the key, else insert; a
    // racing insert answers DUPLICATE_DATA on the unique key field, which means it is there.
    async createFollowUpTask(record, input) {
      if (await findByKey('Tasks', input.callKey)) return;
      const task = toFollowUpTask(input, record, keyField, await owners.forWrite(input.ownerId));
      const response = await call({ method: 'POST', path: '/Tasks', json: { data: [task] }, schema: WriteResponse, idempotent: true });
      const result = response.data[0]!;
      if (result.status !== 'success' && result.code !== 'DUPLICATE_DATA') throw rejectedFrom(result);
    },

    listDispositions: () => Promise.resolve([...ZOHO_CALL_RESULTS]),

    async syncContacts(cursorText) {
      const cursor = parseCursor(cursorText);
      const page = await call({
        path: '/Contacts',
        query: {
          fields: PERSON_FIELDS.Contacts,
          sort_by: 'Modified_Time',
          sort_order: 'asc',
          per_page: SYNC_PAGE_SIZE,
          page_token: cursor.pageToken ?? undefined,
        },
        headers: cursor.since ? { 'if-modified-since': cursor.since } : undefined,
        schema: PersonPage,
      }).catch((error: unknown) => {
        // 304 Not Modified: nothing changed since `since` (v8 status-codes page); an empty pass.
        if (error instanceof CrmError && error.status === 304) return undefined;
        throw error;
      });
      const records = page?.data ?? [];
      const high = records.reduce<string | null>(
        (max, r) => (r.Modified_Time && (!max || Date.parse(r.Modified_Time) > Date.parse(max)) ? r.Modified_Time : max),
        cursor.high,
      );
      const nextToken = page?.info?.more_records ? (page.info.next_page_token ?? null) : null;
      const next: SyncCursor = nextToken
        ? { since: cursor.since, pageToken: nextToken, high }
        : { since: high ?? cursor.since, pageToken: null, high: null };
      return {
        contacts: records.map((r) => toContact(r, 'Contacts', recordUrl('Contacts', r.id))),
        cursor: JSON.stringify(next),
        hasMore: nextToken !== null,
      } satisfies ContactPage;
    },
  };

  async function hasAttachment(path: string, fileName: string): Promise<boolean> {
    let pageToken: string | undefined;
    do {
      const page = await call({ path, query: { fields: 'id,File_Name', per_page: 200, page_token: pageToken }, schema: AttachmentPage });
      if (page?.data.some((a) => a.File_Name === fileName)) return true;
      pageToken = page?.info?.more_records ? (page.info.next_page_token ?? undefined) : undefined;
    } while (pageToken);
    return false;
  }
}

/** Zoho codes that the status code alone does not classify. */
function classifyZohoError(status: number, detail: CrmErrorDetail): CrmError | undefined {
  const text = `${detail.message} (${detail.code ?? status})`;
  switch (detail.code) {
    case 'TOO_MANY_REQUESTS':
    case 'LIMIT_EXCEEDED': // the rolling 24 h credit pool is spent: back off, the outbox keeps the write
      return status === 429 ? undefined : new CrmError('rate_limited', text, status, null);
    case 'OAUTH_SCOPE_MISMATCH': // consent lacks a scope: only signing in again fixes it
      return new CrmError('auth', text, status);
    default:
      return undefined;
  }
}

function requireId(result: WriteResult): string {
  const id = result.details?.id;
  if (typeof id !== 'string') throw new CrmError('rejected', `Zoho reported success without a record id (${result.code})`);
  return id;
}

/** DUPLICATE_DATA names the record already holding the value (details.duplicate_record.id, or details.id). */
function duplicateRecordId(result: WriteResult): string | null {
  const dup = result.details?.duplicate_record as { id?: unknown } | undefined;
  const id = dup?.id ?? result.details?.id;
  return typeof id === 'string' ? id : null;
}

function rejectedFrom(result: WriteResult): CrmError {
  const field = typeof result.details?.api_name === 'string' ? ` [${result.details.api_name}]` : '';
  return new CrmError('rejected', `${result.message ?? 'Zoho refused the record'} (${result.code})${field}`);
}

function parseCursor(text: string | null): SyncCursor {
  if (!text) return { since: null, pageToken: null, high: null };
  try {
    const c = JSON.parse(text) as Partial<SyncCursor>;
    return { since: c.since ?? null, pageToken: c.pageToken ?? null, high: c.high ?? null };
  } catch {
    return { since: null, pageToken: null, high: null }; // an unreadable cursor costs one full sync, nothing else
  }
}

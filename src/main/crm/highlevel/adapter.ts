// HighLevel API v2 adapter. Calls are "Call" messages of the app's Call conversation provider in
// the contact's conversation; a Call message has no duration or notes, so a contact note carries
// them together with our marker (call key tag + message id), which is also how a retry finds the
// call it already logged. A Call message carries nothing of ours that HighLevel gives back, so the
// notes are the one map from call key to message: a message another call's note names is that
// call's, however close in time the two calls were.
import { z } from 'zod';
import type { BrokerAppContext } from '../../../shared/oauth-broker.js';
import type { RequestBudget } from '../budget.js';
import { crmFetch, multipartForm, type CrmRequest } from '../http.js';
import { OwnerResolver, withOwnerNote } from '../owner.js';
import { COMMON_DISPOSITIONS } from '../compose.js';
import { CrmError, firstSend, type CallLogInput, type CrmAdapter, type CrmCallRecord, type CrmSession, type RecordingFile, type StepMemo } from '../port.js';
import { callKeyTag, callStatus, callSummary, followUpMarker, noteBody, readCallNote, toContact, withRecording } from './mapping.js';
import {
  ContactSearchPage,
  ConversationSearch,
  CreatedContact,
  CreatedConversation,
  DuplicateContact,
  Message,
  MessagesPage,
  NoteResponse,
  NotesList,
  OpportunitiesPage,
  ProcessedMessage,
  TaskResponse,
  TasksList,
  UploadedFiles,
  UpsertContact,
  UsersSearch,
  VERSION,
  type Note,
} from './wire.js';

const API_BASE = 'https://services.leadconnectorhq.com';
const APP_BASE = 'https://app.gohighlevel.com';
const SYNC_PAGE_SIZE = 100;
const MESSAGE_PAGE_SIZE = 50;
const USERS_PAGE_SIZE = 25;
/** HighLevel record ids, users' included, are 20 letters and digits in every example of its API files. */
const USER_ID = /^[A-Za-z0-9]{20}$/;

interface SyncCursor {
  /** dateUpdated (ms) the pass started after; null = full sync. */
  since: number | null;
  searchAfter: (string | number)[] | null;
  high: number | null;
}

export interface HighLevelAdapterOptions {
  origin?: string;
  fetch?: typeof fetch;
  budget?: RequestBudget;
}

export function createHighLevelAdapter(session: CrmSession, opts: HighLevelAdapterOptions = {}): CrmAdapter {
  const locationId = session.context.locationId;
  if (!locationId) throw new Error('HighLevel session has no locationId');
  const apiBase = opts.origin ?? API_BASE;
  const appBase = session.context.app_base ?? (opts.origin ?? APP_BASE);

  // HighLevel requires a `Version` header naming the endpoint family's API version.
  const call = <T>(family: keyof typeof VERSION, req: Omit<CrmRequest<T>, 'url'> & { path: string }): Promise<T> =>
    crmFetch(session, { ...req, url: `${apiBase}${req.path}`, headers: { version: VERSION[family] } }, { fetch: opts.fetch, budget: opts.budget });

  const contactUrl = (id: string) => `${appBase}/v2/location/${encodeURIComponent(locationId)}/contacts/detail/${encodeURIComponent(id)}`;

  function providerId(): string {
    // The bus token broker put it there (see BrokerAppContext).
    const { conversationProviderId: id }: BrokerAppContext = session.context;
    // Without the app's Call provider HighLevel cannot take a call log: nothing a retry would fix.
    if (!id) throw new CrmError('rejected', 'HighLevel: no Call conversation provider configured for this app (conversationProviderId)');
    return id;
  }

  async function contactForCall(input: CallLogInput): Promise<string> {
    if (input.contact) return input.contact.id;
    // HighLevel logs calls only in a contact's conversation: upsert one for the remote number.
    const phone = input.direction === 'inbound' ? input.from : input.to;
    const res = await call('contacts', { method: 'POST', path: '/contacts/upsert', json: { locationId, phone }, schema: UpsertContact, idempotent: true });
    return res.contact.id;
  }

  async function contactNotes(contactId: string): Promise<Note[]> {
    return (await call('contacts', { path: `/contacts/${encodeURIComponent(contactId)}/notes`, schema: NotesList })).notes;
  }

  function noteOf(notes: Note[], callKey: string): Note | null {
    const tag = callKeyTag(callKey);
    return notes.find((n) => readCallNote(n.body)?.tag === tag) ?? null;
  }

  async function callNote(contactId: string, callKey: string): Promise<Note | null> {
    return noteOf(await contactNotes(contactId), callKey);
  }

  async function conversationFor(contactId: string): Promise<string> {
    const found = await call('conversations', { path: '/conversations/search', query: { locationId, contactId }, schema: ConversationSearch });
    const existing = found.conversations.find((c) => c.contactId === contactId);
    if (existing) return existing.id;
    const created = await call('conversations', { method: 'POST', path: '/conversations/', json: { locationId, contactId }, schema: CreatedConversation });
    return created.conversation.id;
  }

  /**
   * A Call message this provider already wrote for this call, whose answer (or note) was lost: same
   * direction and date, and named by no other call's note (`claimed`), so a call-back within the
   * same second as the missed call gets a message of its own.
   */
  async function findCallMessage(conversationId: string, input: CallLogInput, claimed: ReadonlySet<string>): Promise<string | null> {
    const at = Date.parse(input.startedAt);
    const direction = input.direction === 'inbound' ? 'inbound' : 'outbound';
    let lastMessageId: string | undefined;
    for (;;) {
      const page = await call('conversations', {
        path: `/conversations/${encodeURIComponent(conversationId)}/messages`,
        query: { type: 'TYPE_CALL', limit: MESSAGE_PAGE_SIZE, lastMessageId },
        schema: MessagesPage,
      });
      const match = page.messages.find(
        (m) => m.direction === direction && m.conversationProviderId === providerId() && Date.parse(m.dateAdded) === at && !claimed.has(m.id),
      );
      if (match) return match.id;
      // Newest first: stop once the page reaches messages older than the call.
      const oldest = page.messages.at(-1);
      if (!page.nextPage || !page.lastMessageId || !oldest || Date.parse(oldest.dateAdded) < at) return null;
      lastMessageId = page.lastMessageId;
    }
  }

  async function createCallMessage(conversationId: string, contactId: string, input: CallLogInput): Promise<string> {
    const common = {
      type: 'Call',
      conversationId,
      conversationProviderId: providerId(),
      date: new Date(input.startedAt).toISOString(),
      call: { from: input.from, to: input.to, status: callStatus(input) },
    };
    // No `direction` on inbound: the endpoint implies it, and the spec types that field as an object.
    const res =
      input.direction === 'inbound'
        ? await call('conversations', {
            method: 'POST',
            path: '/conversations/messages/inbound',
            json: { ...common, contactId, message: callSummary(input) },
            schema: ProcessedMessage,
          })
        : await call('conversations', { method: 'POST', path: '/conversations/messages/outbound', json: common, schema: ProcessedMessage });
    return res.messageId;
  }

  async function getMessage(messageId: string) {
    return call('conversations', { path: `/conversations/messages/${encodeURIComponent(messageId)}`, schema: Message });
  }

  async function writeNote(contactId: string, existing: Note | null, body: string, ownerId: string | null): Promise<void> {
    const json = { body, ...(ownerId ? { userId: ownerId } : {}) };
    const path = `/contacts/${encodeURIComponent(contactId)}/notes`;
    await (existing
      ? call('contacts', { method: 'PUT', path: `${path}/${encodeURIComponent(existing.id)}`, json, schema: NoteResponse })
      : call('contacts', { method: 'POST', path, json, schema: NoteResponse }));
  }

  const record = (messageId: string, contactId: string): CrmCallRecord => ({ id: messageId, url: contactUrl(contactId) });

  // Notes' userId and tasks' assignedTo take a user id; an e-mail is found with the users search
  // (users.json: companyId required; `query` matches name, e-mail or phone, so the e-mail is compared).
  const owners = new OwnerResolver({
    crm: 'HighLevel',
    idName: 'a user id',
    isId: (user) => USER_ID.test(user),
    userByEmail: async (email) => {
      const companyId = session.context.companyId;
      if (!companyId) return { id: null, reason: 'the HighLevel sign-in named no company to look users up in' };
      for (let skip = 0; ; skip += USERS_PAGE_SIZE) {
        const query = { companyId, locationId, query: email, skip: String(skip), limit: String(USERS_PAGE_SIZE) };
        const { users } = await call('users', { path: '/users/search', query, schema: UsersSearch });
        const user = users.find((u) => !u.deleted && u.email?.toLowerCase() === email);
        if (user) return { id: user.id };
        if (users.length < USERS_PAGE_SIZE) return null;
      }
    },
  });

  return {
    id: 'highlevel',

    async findContactsByPhone(e164) {
      const res = await call('contacts', { path: '/contacts/search/duplicate', query: { locationId, number: e164 }, schema: DuplicateContact });
      return res.contact ? [toContact(res.contact, contactUrl(res.contact.id))] : [];
    },

    contactUrl: (contact) => contactUrl(contact.id),

    async findOpenDeals(contact) {
      const query = { location_id: locationId, contact_id: contact.id, status: 'open', limit: '20' };
      const page = await call('opportunities', { path: '/opportunities/search', query, schema: OpportunitiesPage });
      return page.opportunities
        .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))
        .map((o) => ({
          id: o.id,
          kind: 'opportunity',
          name: o.name || o.id,
          stage: o.status ?? null,
          url: `${appBase}/v2/location/${encodeURIComponent(locationId)}/opportunities/list`,
        }));
    },

    async createContact(input) {
      const owner = await owners.forWrite(input.ownerId);
      const words = input.name?.trim().split(/\s+/).filter(Boolean) ?? [];
      const json = {
        locationId,
        phone: input.e164,
        ...(words.length > 0 ? { firstName: words[0] } : {}),
        ...(words.length > 1 ? { lastName: words.slice(1).join(' ') } : {}),
        ...(owner.id ? { assignedTo: owner.id } : {}),
      };
      const { contact } = await call('contacts', { method: 'POST', path: '/contacts/', json, schema: CreatedContact });
      return toContact(contact, contactUrl(contact.id));
    },

    newContactUrl: () => `${appBase}/v2/location/${encodeURIComponent(locationId)}/contacts/smart_list/All`,

    resolveOwner: (crmUser) => owners.resolve(crmUser),

    async logCall(configured, memo?: StepMemo) {
      const input = await owners.forCall(configured);
      const contactId = await contactForCall(input);
      // The message and note are sent once per attempt (not resent): only an earlier attempt can
      // have left them, so a first one looks for neither.
      const first = firstSend(memo, 'createSent');
      const notes = first ? [] : await contactNotes(contactId);
      const logged = readCallNote(noteOf(notes, input.callKey)?.body);
      if (logged) return record(logged.messageId, contactId);
      const claimed = new Set(notes.flatMap((n) => readCallNote(n.body)?.messageId ?? []));
      const conversationId = await conversationFor(contactId);
      const messageId = (first ? null : await findCallMessage(conversationId, input, claimed)) ?? (await createCallMessage(conversationId, contactId, input));
      await writeNote(contactId, null, noteBody(input, messageId, null), input.ownerId);
      return record(messageId, contactId);
    },

    async updateCall(messageId, configured, written) {
      const input = await owners.forCall(configured);
      // The contact last written is the message's (logCall puts it in that contact's conversation): no need to read it.
      const unmoved = written?.contactId && written.contactId === input.contact?.id ? written.contactId : null;
      const contactId = unmoved ?? (await getMessage(messageId)).contactId;
      // A Call message belongs to one contact's conversation for good, and the recording and task
      // steps find the call's note there: another contact picked later cannot take the call.
      if (input.contact && input.contact.id !== contactId) {
        throw new CrmError('rejected', "HighLevel keeps a logged call in the first contact's conversation; it cannot be moved to another contact");
      }
      const note = await callNote(contactId, input.callKey);
      const recordingUrl = readCallNote(note?.body)?.recordingUrl ?? null;
      await writeNote(contactId, note, noteBody(input, messageId, recordingUrl), input.ownerId);
      return record(messageId, contactId);
    },

    async attachRecording(rec, file: RecordingFile, callKey) {
      const { contactId, conversationId } = await getMessage(rec.id);
      const note = await callNote(contactId, callKey);
      if (!note?.body) throw new CrmError('rejected', `HighLevel: no call note for message ${rec.id}; log the call first`);
      // The uploaded URL is kept in the note before attaching, so a retry re-attaches it instead of uploading again.
      let url = readCallNote(note.body)?.recordingUrl ?? null;
      if (!url) {
        const form = multipartForm(
          { conversationId, contactId, locationId },
          { field: 'fileAttachment', fileName: file.fileName, contentType: file.contentType, data: file.data },
        );
        const uploaded = await call('conversations', { method: 'POST', path: '/conversations/messages/upload', form, schema: UploadedFiles });
        url = uploaded.uploadedFiles[file.fileName] ?? Object.values(uploaded.uploadedFiles)[0] ?? null;
        if (!url) throw new CrmError('rejected', 'HighLevel accepted the upload but returned no file URL');
        await writeNote(contactId, note, withRecording(note.body, url), null);
      }
      // PUT replaces the message's attachments: repeating it never adds a second copy.
      await call('conversations', {
        method: 'PUT',
        path: `/conversations/messages/${encodeURIComponent(rec.id)}/attachments`,
        json: { attachments: [url] },
        schema: z.unknown(),
      });
    },

    // A contact task (contacts.json), on the contact the call was logged to (for a call logged
    // without one, the contact the call message belongs to); found again by the marker in its body.
    async createFollowUpTask(rec, input) {
      const contactId = input.contact?.id ?? (await getMessage(rec.id)).contactId;
      const path = `/contacts/${encodeURIComponent(contactId)}/tasks`;
      const marker = followUpMarker(input.callKey);
      const { tasks } = await call('contacts', { path, schema: TasksList });
      if (tasks.some((t) => t.body?.includes(marker))) return;
      const owner = await owners.forWrite(input.ownerId);
      const json = {
        title: input.subject,
        body: `${withOwnerNote(`Missed call (${rec.url ?? rec.id}).`, owner)}\n${marker}`,
        dueDate: new Date(input.dueAt).toISOString(),
        completed: false,
        ...(owner.id ? { assignedTo: owner.id } : {}),
      };
      await call('contacts', { method: 'POST', path, json, schema: TaskResponse });
    },

    /** HighLevel has no call-outcome field: the pick goes into the call note (compose.ts). */
    listDispositions: () => Promise.resolve([...COMMON_DISPOSITIONS]),

    async syncContacts(cursorText) {
      const cursor = parseCursor(cursorText);
      const page = await call('contacts', {
        method: 'POST',
        path: '/contacts/search',
        json: {
          locationId,
          pageLimit: SYNC_PAGE_SIZE,
          ...(cursor.searchAfter ? { searchAfter: cursor.searchAfter } : {}),
          ...(cursor.since !== null ? { filters: [{ field: 'dateUpdated', operator: 'range', value: { gt: new Date(cursor.since).toISOString() } }] } : {}),
          sort: [{ field: 'dateUpdated', direction: 'asc' }],
        },
        schema: ContactSearchPage,
        idempotent: true,
      });
      const high = page.contacts.reduce<number | null>((max, c) => {
        const t = c.dateUpdated ? Date.parse(c.dateUpdated) : NaN;
        return Number.isNaN(t) || (max !== null && max >= t) ? max : t;
      }, cursor.high);
      const last = page.contacts.at(-1);
      const more = page.contacts.length === SYNC_PAGE_SIZE && !!last?.searchAfter;
      const next: SyncCursor = more
        ? { since: cursor.since, searchAfter: last!.searchAfter!, high }
        : { since: high ?? cursor.since, searchAfter: null, high: null };
      return { contacts: page.contacts.map((c) => toContact(c, contactUrl(c.id))), cursor: JSON.stringify(next), hasMore: more };
    },
  };
}

function parseCursor(text: string | null): SyncCursor {
  if (!text) return { since: null, searchAfter: null, high: null };
  try {
    const c = JSON.parse(text) as Partial<SyncCursor>;
    return { since: c.since ?? null, searchAfter: c.searchAfter ?? null, high: c.high ?? null };
  } catch {
    return { since: null, searchAfter: null, high: null }; // an unreadable cursor costs one full sync
  }
}

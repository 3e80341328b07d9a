// HubSpot CRM adapter: contacts search, calls engagement objects, Files API. Facts and their
// confirmation status are in README.md; endpoint shapes are validated against the official
// OpenAPI files by the simulator tests.
import { countryOf, toE164 } from '../../../shared/phone.js';
import { crmErrorOf, crmFetch, IgnoredBody, multipartForm, slotNow, takeSlot, type BudgetSlot, type CrmFetchOptions, type CrmRequest } from '../http.js';
import { OwnerResolver, withOwnerNote, type WriteOwner } from '../owner.js';
import {
  CrmError,
  firstSend,
  linksOf,
  type CallLinks,
  type CallLogInput,
  type CallOutcome,
  type ContactPage,
  type CrmAdapter,
  type CrmCallRecord,
  type CrmContact,
  type CrmDeal,
  type CrmSession,
  type NewContactInput,
  type FollowUpTaskInput,
  type OwnerResolution,
  type RecordingFile,
  type StepMemo,
} from '../port.js';
import { SlotBatcher, type BatchedOp } from './batcher.js';
import { phoneSpellings } from './phone.js';
import { AssociationsPage, BatchResponse, Dispositions, FileSearchResponse, HubSpotFile, OwnersPage, SearchResponse, SimplePublicObject, type ObjectCreate, type SearchRequest } from './wire.js';

/** Custom call property holding our callKey; created once per portal (README.md, "Portal setup"). */
export const CALL_KEY_PROPERTY = 'ringbridge_call_key';
/** HUBSPOT_DEFINED association type call -> contact. */
export const CALL_TO_CONTACT_TYPE_ID = 194;
export const RECORDINGS_FOLDER = '/ringbridge/recordings';

const DEAL_PROPERTIES = ['dealname', 'dealstage', 'hs_is_closed', 'createdate'];
const MAX_DEALS = 20;
const CONTACT_PROPERTIES = ['firstname', 'lastname', 'company', 'phone', 'mobilephone', 'hubspot_owner_id', 'notes_last_updated', 'lastmodifieddate'];
const SYNC_PAGE_SIZE = 100;
/** The search API stops paging at 10,000 results; restart from the newest timestamp before that. */
const SEARCH_PAGING_CEILING = 9_900;

const CALLS_PATH = '/crm/v3/objects/calls';
/** Inputs per batch request: HubSpot's CRM batch endpoints take at most 100. */
const BATCH_MAX = 100;

const STATUS: Record<CallOutcome, string> = {
  answered: 'COMPLETED',
  missed: 'MISSED',
  no_answer: 'NO_ANSWER',
  busy: 'BUSY',
  failed: 'FAILED',
};

export interface HubSpotAdapterOptions {
  /** API origin; default https://api.hubapi.com (simulator URL in tests). */
  apiOrigin: string;
  /** Browser origin for record links; default https://app.hubspot.com (EU portals: app-eu1). */
  appOrigin: string;
  http: CrmFetchOptions;
}

interface SyncCursor {
  /** lastmodifieddate (epoch ms) the current sweep started from. */
  since: string;
  after: string;
}

export class HubSpotAdapter implements CrmAdapter {
  readonly id = 'hubspot' as const;
  /**
   * `hubspot_owner_id` takes a numeric owner id only; an e-mail is resolved with the owners API
   * (README: owner). An e-mail no active user has, or any other text, is never sent.
   */
  private readonly owners = new OwnerResolver({
    crm: 'HubSpot',
    idName: 'an owner id',
    isId: (user) => /^\d+$/.test(user),
    userByEmail: async (email) => {
      const page = await this.call({ path: '/crm/v3/owners', query: { email, archived: 'false' }, schema: OwnersPage });
      const id = page.results.find((o) => o.email?.toLowerCase() === email && /^\d+$/.test(o.id))?.id;
      return id ? { id } : null;
    },
  });

  /**
   * Every PATCH of a call's properties, and the read of a call's attachments, goes through these:
   * those waiting for the request budget at once share one request (batcher.ts, `sendCallOps`).
   */
  private readonly callUpdates = this.callBatcher(CALL_UPDATE);
  private readonly callReads = this.callBatcher(CALL_READ);

  constructor(
    private readonly session: CrmSession,
    private readonly options: HubSpotAdapterOptions,
  ) {}

  private get portalId(): string {
    // The token response carries `hub_id`; tests may pass `portalId` directly.
    return this.session.context.portalId ?? this.session.context.hub_id ?? '';
  }

  private call<T>(req: HubSpotRequest<T>, slot?: BudgetSlot): Promise<T> {
    const { path, ...rest } = req;
    return crmFetch(this.session, { ...rest, url: `${this.options.apiOrigin}${path}` }, this.options.http, slot);
  }

  private callBatcher<I extends { id: string }>(kind: CallOpKind<I>): SlotBatcher<I, SimplePublicObject> {
    return new SlotBatcher({
      max: BATCH_MAX,
      slotNow: () => slotNow(this.options.http, `${CALLS_PATH}/batch/${kind.name}`),
      takeSlot: () => takeSlot(this.options.http, `${CALLS_PATH}/batch/${kind.name}`),
      send: (ops, slot) => this.sendCallOps(kind, ops, slot),
    });
  }

  /**
   * One closed batch on its slot. Ops on the same call merge first (they are in request order, and
   * HubSpot refuses a batch naming an id twice); one call left is the ordinary single request, several
   * are one batch request whose 207 fails only the inputs its errors name. A refusal of the whole
   * batch (4xx) names no input, so each is then sent alone and meets the answer it would have had.
   */
  private async sendCallOps<I extends { id: string }>(kind: CallOpKind<I>, ops: Array<BatchedOp<I, SimplePublicObject>>, slot: BudgetSlot): Promise<void> {
    const byId = new Map<string, I>();
    for (const { input } of ops) {
      const earlier = byId.get(input.id);
      byId.set(input.id, earlier ? kind.merge(earlier, input) : input);
    }
    const settle = (id: string, outcome: Promise<SimplePublicObject>) =>
      outcome.then(
        (object) => ops.filter((op) => op.input.id === id).forEach((op) => op.resolve(object)),
        (error: unknown) => ops.filter((op) => op.input.id === id).forEach((op) => op.reject(error)),
      );
    const inputs = [...byId.values()];
    if (inputs.length === 1) return settle(inputs[0]!.id, this.call(kind.alone(inputs[0]!), slot));
    let answer: BatchResponse;
    try {
      answer = await this.call(kind.batch(inputs), slot);
    } catch (error) {
      if (!(error instanceof CrmError) || error.kind !== 'rejected') throw error;
      await Promise.all(inputs.map((input) => settle(input.id, this.call(kind.alone(input)))));
      return;
    }
    const results = new Map(answer.results.map((object) => [object.id, object]));
    for (const { id } of inputs) {
      const object = results.get(id);
      void settle(id, object ? Promise.resolve(object) : Promise.reject(batchItemError(answer, id)));
    }
  }

  async findContactsByPhone(e164: string): Promise<CrmContact[]> {
    const values = phoneSpellings(e164);
    const body: SearchRequest = {
      filterGroups: ['phone', 'mobilephone'].map((propertyName) => ({ filters: [{ propertyName, operator: 'IN', values }] })),
      properties: CONTACT_PROPERTIES,
      sorts: [],
      limit: 20,
      after: '0',
    };
    const page = await this.call({ method: 'POST', path: '/crm/v3/objects/contacts/search', json: body, schema: SearchResponse, idempotent: true });
    const country = countryOf(e164) ?? 'US';
    return page.results
      .map((o) => this.toContact(o))
      .filter((c) => c.phones.some((p) => toE164(p, country) === e164));
  }

  contactUrl(contact: Pick<CrmContact, 'id' | 'kind'>): string {
    return `${this.options.appOrigin}/contacts/${this.portalId}/record/0-1/${encodeURIComponent(contact.id)}`;
  }

  /** HubSpot documents no prefilled create form; this opens the contacts index where "Create contact" lives. */
  newContactUrl(_e164: string | null): string {
    return `${this.options.appOrigin}/contacts/${this.portalId}/objects/0-1/views/all/list`;
  }

  async logCall(input: CallLogInput, memo?: StepMemo): Promise<CrmCallRecord> {
    const body: ObjectCreate = {
      properties: callProperties(input, await this.owners.forWrite(input.ownerId)),
      associations: input.contact
        ? [{ to: { id: input.contact.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: CALL_TO_CONTACT_TYPE_ID }] }]
        : [],
    };
    const id = await this.createOnce(
      'calls',
      input.callKey,
      () => this.call({ method: 'POST', path: '/crm/v3/objects/calls', json: body, schema: SimplePublicObject, idempotent: true }),
      firstSend(memo, 'createSent'),
    );
    // The default call -> deal association (v4): repeating it on a retry changes nothing.
    if (input.deal) await this.associate('calls', id, 'deals', input.deal.id);
    return this.record(id, input);
  }

  async updateCall(recordId: string, input: CallLogInput, written?: CallLinks): Promise<CrmCallRecord> {
    const owner = await this.owners.forWrite(input.ownerId);
    const patch = this.callUpdates.run({ id: recordId, properties: callProperties(input, owner) });
    // A re-pick moves only what this app linked (`written`); links people added by hand stay. With
    // `written` unknown (a create retried after its answer was lost), the pick is linked, nothing unlinked.
    // No read: an unlink of a link already gone and a repeated link both change nothing.
    const now = linksOf(input);
    await Promise.all([
      patch,
      this.relink(recordId, 'contacts', written?.contactId ?? null, now.contactId),
      this.relink(recordId, 'deals', written?.dealId ?? null, now.dealId),
    ]);
    return this.record(recordId, input);
  }

  async findOpenDeals(contact: Pick<CrmContact, 'id' | 'kind'>): Promise<CrmDeal[]> {
    const linked = await this.associated('contacts', contact.id, 'deals');
    if (linked.length === 0) return [];
    const read = await this.call({
      method: 'POST',
      path: '/crm/v3/objects/0-3/batch/read',
      json: { inputs: linked.slice(0, 100).map((id) => ({ id })), properties: DEAL_PROPERTIES, propertiesWithHistory: [] },
      schema: BatchResponse,
      idempotent: true,
    });
    return read.results
      .filter((d) => d.properties.hs_is_closed !== 'true')
      .sort((a, b) => (b.properties.createdate ?? b.createdAt).localeCompare(a.properties.createdate ?? a.createdAt))
      .slice(0, MAX_DEALS)
      .map((d) => ({
        id: d.id,
        kind: 'deal',
        name: d.properties.dealname || `Deal ${d.id}`,
        stage: d.properties.dealstage ?? null,
        url: `${this.options.appOrigin}/contacts/${this.portalId}/record/0-3/${encodeURIComponent(d.id)}`,
      }));
  }

  async createContact(input: NewContactInput): Promise<CrmContact> {
    const owner = await this.owners.forWrite(input.ownerId);
    const [firstname, ...rest] = (input.name?.trim() || '').split(/\s+/);
    const properties: Record<string, string> = { phone: input.e164 };
    if (firstname) properties.firstname = firstname;
    if (rest.length > 0) properties.lastname = rest.join(' ');
    if (owner.id) properties.hubspot_owner_id = owner.id;
    const created = await this.call({ method: 'POST', path: '/crm/v3/objects/contacts', json: { properties, associations: [] }, schema: SimplePublicObject });
    return this.toContact({ ...created, properties: { ...properties, ...created.properties } });
  }

  resolveOwner(crmUser: string): Promise<OwnerResolution> {
    return this.owners.resolve(crmUser);
  }

  async attachRecording(record: CrmCallRecord, file: RecordingFile, callKey: string, memo?: StepMemo): Promise<void> {
    // The stored name is derived from the call, so a retry after a lost upload finds the first copy.
    const storedName = fileBaseName(`${callKey}-${file.fileName}`);
    const uploaded = async () => {
      const id =
        memo?.get('fileId') ??
        // Only an earlier upload attempt can have left a copy to find; a first one uploads at once.
        (firstSend(memo, 'uploadSent') ? undefined : await this.findUploadedFile(storedName)) ??
        (await this.upload(storedName, file));
      memo?.set('fileId', id); // a failed read or PATCH retries without searching or uploading again
      return id;
    };
    // The call's attachments are read beside the upload (no added round trip).
    const [attached, fileId] = await Promise.all([this.attachmentsOf(record.id), uploaded()]);
    if (attached.includes(fileId)) return;
    await this.callUpdates.run({ id: record.id, properties: { hs_attachment_ids: [...attached, fileId].join(';') } });
  }

  /**
   * The files attached to a call (people may attach their own in HubSpot; the recording joins them).
   * Read through search, which HubSpot exempts from the 10 s window every other request shares
   * (the official files' `x-hubspot-rate-limit-exemptions`; usage guidelines), so the recording
   * costs the account's request budget no more than before the live record. A call search does not
   * show yet (its index lags a create) is read by id.
   */
  private async attachmentsOf(callId: string): Promise<string[]> {
    const found = await this.searchOne('calls', 'hs_object_id', callId, ['hs_attachment_ids']);
    const call = found?.id === callId ? found : await this.callReads.run({ id: callId, properties: ['hs_attachment_ids'] });
    return (call.properties.hs_attachment_ids ?? '').split(';').filter(Boolean);
  }

  /** The account's call outcomes (legacy calling API, still what the calls object's disposition takes). */
  async listDispositions(): Promise<Array<{ id: string; label: string }>> {
    const list = await this.call({ path: '/calling/v1/dispositions', schema: Dispositions, idempotent: true });
    return list.filter((d) => !d.deleted).map(({ id, label }) => ({ id, label }));
  }

  async syncContacts(cursor: string | null): Promise<ContactPage> {
    const position: SyncCursor = cursor ? (JSON.parse(cursor) as SyncCursor) : { since: '0', after: '0' };
    const body: SearchRequest = {
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: position.since }] }],
      properties: CONTACT_PROPERTIES,
      sorts: ['lastmodifieddate'],
      limit: SYNC_PAGE_SIZE,
      after: position.after,
    };
    const page = await this.call({ method: 'POST', path: '/crm/v3/objects/contacts/search', json: body, schema: SearchResponse, idempotent: true });
    const contacts = page.results.map((o) => this.toContact(o));
    const newest = contacts.reduce((max, c) => Math.max(max, Date.parse(c.updatedAt ?? '') || 0), Number(position.since));
    const next = page.paging?.next?.after;
    if (next && Number(next) < SEARCH_PAGING_CEILING) {
      return { contacts, cursor: JSON.stringify({ since: position.since, after: next }), hasMore: true };
    }
    // Sweep done (or at the paging ceiling): the next sweep starts at the newest change seen. GTE
    // re-delivers records sharing that millisecond, which the index upserts harmlessly.
    return { contacts, cursor: JSON.stringify({ since: String(newest), after: '0' }), hasMore: next !== undefined };
  }

  /**
   * The call-back task: found by our key on tasks, else created; then linked to the call and the
   * contact with default associations (v4, in the saved spec), which a retry may repeat harmlessly —
   * so a task whose links were cut short by a crash is completed, not duplicated.
   */
  async createFollowUpTask(record: CrmCallRecord, input: FollowUpTaskInput): Promise<void> {
    const body = taskBody(input, await this.owners.forWrite(input.ownerId));
    const taskId = await this.createOnce('tasks', input.callKey, () =>
      this.call({ method: 'POST', path: '/crm/v3/objects/tasks', json: body, schema: SimplePublicObject, idempotent: true }),
    );
    await this.associate('tasks', taskId, 'calls', record.id);
    if (input.contact) await this.associate('tasks', taskId, 'contacts', input.contact.id);
  }

  private async associate(fromType: string, fromId: string, toType: string, toId: string): Promise<void> {
    const path = `/crm/v4/objects/${fromType}/${encodeURIComponent(fromId)}/associations/default/${toType}/${encodeURIComponent(toId)}`;
    await this.call({ method: 'PUT', path, schema: IgnoredBody });
  }

  /** Ids of the `toType` objects the object is associated with (one page: a call has a few). */
  private async associated(fromType: string, fromId: string, toType: string): Promise<string[]> {
    const path = `/crm/v4/objects/${fromType}/${encodeURIComponent(fromId)}/associations/${toType}`;
    const page = await this.call({ path, query: { limit: '500' }, schema: AssociationsPage });
    return page.results.map((r) => String(r.toObjectId));
  }

  /** Moves the call's `toType` link this app wrote (`was`, when known) to `now`: unchanged, nothing is sent. */
  private async relink(callId: string, toType: 'contacts' | 'deals', was: string | null, now: string | null): Promise<void> {
    if (was === now) return;
    if (was !== null) {
      const path = `/crm/v4/objects/calls/${encodeURIComponent(callId)}/associations/${toType}/${encodeURIComponent(was)}`;
      await this.call({ method: 'DELETE', path, schema: IgnoredBody });
    }
    if (now !== null) await this.associate('calls', callId, toType, now);
  }

  /**
   * The id of the object with this call key, created if none exists. Search finds an earlier write;
   * where search lags behind a create whose answer was lost, the key property's unique-value rule
   * makes HubSpot refuse the second create (409), and the write is retried until search shows the
   * first one, never duplicated. That same rule makes the create safe to resend (`idempotent`), and
   * lets a `first` attempt skip the search: nothing can exist yet, and should it, the create meets 409.
   */
  private async createOnce(object: 'calls' | 'tasks', callKey: string, create: () => Promise<{ id: string }>, first = false): Promise<string> {
    const existing = first ? undefined : await this.findByCallKey(object, callKey);
    if (existing) return existing.id;
    try {
      return (await create()).id;
    } catch (error) {
      if (!(error instanceof CrmError) || error.status !== 409) throw error;
      const found = await this.findByCallKey(object, callKey);
      if (found) return found.id;
      throw new CrmError('transient', `HubSpot already has this ${object === 'calls' ? 'call' : 'task'}; retrying until its search shows it`, 409);
    }
  }

  private findByCallKey(object: 'calls' | 'tasks', callKey: string) {
    return this.searchOne(object, CALL_KEY_PROPERTY, callKey, [CALL_KEY_PROPERTY]);
  }

  /** The first object whose `property` equals `value`, as search shows it (its index lags writes by seconds). */
  private async searchOne(object: 'calls' | 'tasks', property: string, value: string, properties: string[]): Promise<SimplePublicObject | undefined> {
    const body: SearchRequest = { filterGroups: [{ filters: [{ propertyName: property, operator: 'EQ', value }] }], properties, sorts: [], limit: 1, after: '0' };
    const found = await this.call({ method: 'POST', path: `/crm/v3/objects/${object}/search`, json: body, schema: SearchResponse, idempotent: true });
    return found.results[0];
  }

  private async findUploadedFile(storedName: string): Promise<string | undefined> {
    const found = await this.call({
      path: '/files/v3/files/search',
      query: { name: storedName, path: RECORDINGS_FOLDER },
      schema: FileSearchResponse,
    });
    return found.results.find((f) => f.name === storedName)?.id;
  }

  private async upload(storedName: string, file: RecordingFile): Promise<string> {
    const extension = /\.[A-Za-z0-9]+$/.exec(file.fileName)?.[0] ?? '';
    const form = multipartForm(
      {
        fileName: `${storedName}${extension}`,
        folderPath: RECORDINGS_FOLDER,
        options: JSON.stringify({ access: 'PRIVATE', overwrite: false, duplicateValidationStrategy: 'NONE', duplicateValidationScope: 'EXACT_FOLDER' }),
      },
      { field: 'file', fileName: `${storedName}${extension}`, contentType: file.contentType, data: file.data },
    );
    const uploaded = await this.call({ method: 'POST', path: '/files/v3/files', form, schema: HubSpotFile });
    return uploaded.id;
  }

  /**
   * HubSpot documents no browser URL for a call record (README.md, "Open in CRM"): "Open in CRM"
   * opens the associated contact, whose timeline shows the call. A call without a contact has none.
   */
  private record(id: string, input: Pick<CallLogInput, 'contact'>): CrmCallRecord {
    return { id, url: input.contact ? this.contactUrl(input.contact) : null };
  }

  private toContact(o: SimplePublicObject): CrmContact {
    const p = o.properties;
    const name = [p.firstname, p.lastname].filter(Boolean).join(' ');
    return {
      id: o.id,
      kind: 'contact',
      name: name || p.phone || p.mobilephone || o.id,
      company: p.company ?? null,
      phones: [p.phone, p.mobilephone].filter((v): v is string => !!v),
      ownerId: p.hubspot_owner_id ?? null,
      lastActivityAt: p.notes_last_updated ?? null,
      url: this.contactUrl({ id: o.id, kind: 'contact' }),
      updatedAt: p.lastmodifieddate ?? o.updatedAt,
    };
  }
}

type HubSpotRequest<T> = Omit<CrmRequest<T>, 'url'> & { path: string };

/** How one kind of call op merges per call, and goes out alone or as a batch (`sendCallOps`). */
interface CallOpKind<I extends { id: string }> {
  name: 'update' | 'read';
  merge: (earlier: I, later: I) => I;
  alone: (op: I) => HubSpotRequest<SimplePublicObject>;
  batch: (ops: I[]) => HubSpotRequest<BatchResponse>;
}

const callPath = (id: string) => `${CALLS_PATH}/${encodeURIComponent(id)}`;

/** A PATCH of some of a call's properties; a later op's value wins. */
const CALL_UPDATE: CallOpKind<{ id: string; properties: Record<string, string> }> = {
  name: 'update',
  merge: (earlier, later) => ({ id: earlier.id, properties: { ...earlier.properties, ...later.properties } }),
  alone: ({ id, properties }) => ({ method: 'PATCH', path: callPath(id), json: { properties }, schema: SimplePublicObject }),
  // Setting properties again sets the same values: safe to resend after a timeout or 5xx.
  batch: (inputs) => ({ method: 'POST', path: `${CALLS_PATH}/batch/update`, json: { inputs }, schema: BatchResponse, idempotent: true }),
};

/** A read of some of a call's properties; a batch asks for all the ops' properties. */
const CALL_READ: CallOpKind<{ id: string; properties: string[] }> = {
  name: 'read',
  merge: (earlier, later) => ({ id: earlier.id, properties: [...new Set([...earlier.properties, ...later.properties])] }),
  alone: ({ id, properties }) => ({ path: callPath(id), query: { properties: properties.join(',') }, schema: SimplePublicObject }),
  batch: (inputs) => ({
    method: 'POST',
    path: `${CALLS_PATH}/batch/read`,
    json: { inputs: inputs.map(({ id }) => ({ id })), properties: [...new Set(inputs.flatMap((i) => i.properties))], propertiesWithHistory: [] },
    schema: BatchResponse,
    idempotent: true,
  }),
};

/** Status of a batch item's error by its category, when its `status` is not an HTTP code (HubSpot sends "error"). */
const ITEM_ERROR_STATUS: Record<string, number> = { OBJECT_NOT_FOUND: 404, VALIDATION_ERROR: 400, CONFLICT: 409, RATE_LIMITS: 429 };

/**
 * Why a 207 left out this call: the error item naming it, mapped as the single request's answer
 * would be. An item naming no call could be anyone's: the call is retried (transient), which a
 * PATCH or read allows.
 */
function batchItemError(answer: BatchResponse, id: string): CrmError {
  const item = answer.errors?.find((e) => Object.values(e.context ?? {}).some((values) => values.includes(id)));
  if (!item) return new CrmError('transient', `HubSpot's batch answer did not report call ${id}`, null);
  const status = /^\d{3}$/.test(item.status ?? '') ? Number(item.status) : (ITEM_ERROR_STATUS[item.category ?? ''] ?? 400);
  return crmErrorOf(status, { message: item.message, code: item.category });
}

function callProperties(input: CallLogInput, owner: WriteOwner): Record<string, string> {
  const props: Record<string, string> = {
    [CALL_KEY_PROPERTY]: input.callKey,
    hs_timestamp: new Date(input.startedAt).toISOString(),
    // HubSpot knows INBOUND/OUTBOUND only; an internal call is outbound from the agent's view.
    hs_call_direction: input.direction === 'inbound' ? 'INBOUND' : 'OUTBOUND',
    hs_call_duration: String(Math.round(input.durationSec * 1000)),
    // The live record (answered, still on) is IN_PROGRESS; the same record is completed at the end.
    hs_call_status: input.status === 'in_progress' ? 'IN_PROGRESS' : STATUS[input.outcome],
    hs_call_from_number: input.from,
    hs_call_to_number: input.to,
    hs_call_title: input.subject,
    hs_call_body: withOwnerNote(input.notes, owner),
  };
  if (owner.id) props.hubspot_owner_id = owner.id;
  // The account's disposition GUID (GET /calling/v1/dispositions): HubSpot's "call outcome".
  if (input.disposition) props.hs_call_disposition = input.disposition.id;
  return props;
}

function taskBody(input: FollowUpTaskInput, owner: WriteOwner): ObjectCreate {
  return {
    properties: {
      // The tasks guide: hs_timestamp is the task's due date.
      hs_timestamp: new Date(input.dueAt).toISOString(),
      hs_task_subject: input.subject,
      hs_task_status: 'NOT_STARTED',
      hs_task_type: 'CALL',
      hs_task_priority: 'HIGH',
      ...(owner.id ? { hubspot_owner_id: owner.id } : {}),
      ...(owner.note ? { hs_task_body: owner.note } : {}),
      [CALL_KEY_PROPERTY]: input.callKey,
    },
    associations: [],
  };
}

/** A file name HubSpot keeps as-is: our callKey has ':' separators. */
function fileBaseName(name: string): string {
  return name.replace(/\.[A-Za-z0-9]+$/, '').replace(/[^A-Za-z0-9_-]+/g, '-');
}

// Salesforce adapter: SOSL phone search over Contact and Lead, call Tasks keyed by CallObject,
// recordings as ContentVersion published to the Task, SOQL LastModifiedDate sync.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { z } from 'zod';
import { countryOf, toE164 } from '../../../shared/phone.js';
import { COMMON_DISPOSITIONS } from '../compose.js';
import { crmFetch, IgnoredBody, type CrmFetchOptions, type CrmRequest } from '../http.js';
import { OwnerResolver, withOwnerNote, type WriteOwner } from '../owner.js';
import { firstSend, type CallLogInput, type CallOutcome, type ContactPage, type CrmAdapter, type CrmCallRecord, type CrmContact, type CrmDeal, type CrmSession, type FollowUpTaskInput, type NewContactInput, type OwnerResolution, type RecordingFile, type StepMemo } from '../port.js';
import { API_VERSION, CaseRecord, ContactRecord, CreateResponse, IdRecord, OpportunityRecord, QueryResponse, RoleRecord, SearchResponse, UserRecord, type FollowUpTaskInput as FollowUpTaskFields, type TaskInput } from './wire.js';

export type SalesforceKind = 'Contact' | 'Lead';
const KINDS: SalesforceKind[] = ['Contact', 'Lead'];

const FIELDS: Record<SalesforceKind, string[]> = {
  Contact: ['Id', 'Name', 'Phone', 'MobilePhone', 'HomePhone', 'OtherPhone', 'OwnerId', 'LastActivityDate', 'LastModifiedDate'],
  Lead: ['Id', 'Name', 'Company', 'Phone', 'MobilePhone', 'OwnerId', 'LastActivityDate', 'LastModifiedDate'],
};
const PHONE_FIELDS = ['Phone', 'MobilePhone', 'HomePhone', 'OtherPhone'] as const;

const DISPOSITION: Record<CallOutcome, string> = {
  answered: 'Connected',
  missed: 'Missed',
  no_answer: 'No answer',
  busy: 'Busy',
  failed: 'Failed',
};

export interface SalesforceAdapterOptions {
  /** The org's API host: the token response's instance_url. */
  instanceUrl: string;
  http: CrmFetchOptions;
}

interface SyncCursor {
  kind: SalesforceKind;
  /** Newest LastModifiedDate seen per object; the next sweep starts there. */
  since: Record<SalesforceKind, string | null>;
  /** Locator of the next page of the running query. */
  next: string | null;
}

/** A User (005) or queue (00G) Id, 15 or 18 characters: what a Task's OwnerId takes. */
const OWNER_ID = /^(005|00G)[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/;

export class SalesforceAdapter implements CrmAdapter {
  readonly id = 'salesforce' as const;
  /** OwnerId takes a User Id; an e-mail is looked up on User (README: owner). */
  private readonly owners = new OwnerResolver({
    crm: 'Salesforce',
    idName: 'a user id',
    isId: (user) => OWNER_ID.test(user),
    userByEmail: (email) => this.activeUser(email),
  });

  constructor(
    private readonly session: CrmSession,
    private readonly options: SalesforceAdapterOptions,
  ) {}

  private call<T>(req: Omit<CrmRequest<T>, 'url'> & { path: string }): Promise<T> {
    const { path, ...rest } = req;
    const url = path.startsWith('/services/') ? `${this.options.instanceUrl}${path}` : `${this.options.instanceUrl}/services/data/${API_VERSION}${path}`;
    return crmFetch(this.session, { ...rest, url }, this.options.http);
  }

  private query<T extends z.ZodType>(soql: string, record: T) {
    return this.call({ path: '/query', query: { q: soql }, schema: QueryResponse(record) });
  }

  async findContactsByPhone(e164: string): Promise<CrmContact[]> {
    const parsed = parsePhoneNumberFromString(e164);
    if (!parsed) return [];
    // Digits only, as Salesforce's own sample does: nothing left to escape inside FIND {…}.
    const returning = KINDS.map((k) => `${k}(${FIELDS[k].join(', ')})`).join(', ');
    const sosl = `FIND {${parsed.nationalNumber}} IN PHONE FIELDS RETURNING ${returning}`;
    const result = await this.call({ path: '/search', query: { q: sosl }, schema: SearchResponse });
    const country = countryOf(e164) ?? 'US';
    return result.searchRecords
      .map((r) => this.toContact(r))
      .filter((c) => c.phones.some((p) => toE164(p, country) === e164));
  }

  contactUrl(contact: Pick<CrmContact, 'id' | 'kind'>): string {
    return `${this.options.instanceUrl}/lightning/r/${contact.kind}/${encodeURIComponent(contact.id)}/view`;
  }

  newContactUrl(e164: string | null): string {
    const defaults = e164 ? `?defaultFieldValues=${encodeURIComponent(`Phone=${e164}`)}` : '';
    return `${this.options.instanceUrl}/lightning/o/Contact/new${defaults}`;
  }

  async logCall(input: CallLogInput, memo?: StepMemo): Promise<CrmCallRecord> {
    // The create is sent once per attempt (not resent): only an earlier attempt can have made the Task.
    if (!firstSend(memo, 'createSent')) {
      const existing = await this.query(`SELECT Id FROM Task WHERE CallObject = ${soqlString(input.callKey)} LIMIT 1`, IdRecord);
      if (existing.records[0]) return this.record(existing.records[0].Id);
    }
    const created = await this.call({
      method: 'POST',
      path: '/sobjects/Task',
      json: { ...taskFields(input, await this.owners.forWrite(input.ownerId)), TaskSubtype: 'Call' },
      schema: CreateResponse,
    });
    return this.record(created.id);
  }

  async updateCall(recordId: string, input: CallLogInput): Promise<CrmCallRecord> {
    // WhatId null first: a deal picked before and dropped since is unlinked, not left behind.
    const json = { WhatId: null, ...taskFields(input, await this.owners.forWrite(input.ownerId)) };
    await this.call({ method: 'PATCH', path: `/sobjects/Task/${encodeURIComponent(recordId)}`, json, schema: IgnoredBody });
    return this.record(recordId);
  }

  resolveOwner(crmUser: string): Promise<OwnerResolution> {
    return this.owners.resolve(crmUser);
  }

  /**
   * A Contact's open Opportunities (through its OpportunityContactRole rows) and open Cases
   * (Case.ContactId). A Lead has none: a Task on a lead cannot be related to another record.
   */
  async findOpenDeals(contact: Pick<CrmContact, 'id' | 'kind'>): Promise<CrmDeal[]> {
    if (contact.kind !== 'Contact') return [];
    const roles = await this.query(`SELECT Id, OpportunityId FROM OpportunityContactRole WHERE ContactId = ${soqlString(contact.id)} LIMIT 100`, RoleRecord);
    const opportunityIds = [...new Set(roles.records.map((r) => r.OpportunityId))];
    const opportunities = opportunityIds.length
      ? (await this.query(`SELECT Id, Name, StageName, CreatedDate FROM Opportunity WHERE Id IN (${opportunityIds.map(soqlString).join(', ')}) AND IsClosed = false`, OpportunityRecord)).records
      : [];
    const cases = (await this.query(`SELECT Id, CaseNumber, Subject, Status, CreatedDate FROM Case WHERE ContactId = ${soqlString(contact.id)} AND IsClosed = false LIMIT 20`, CaseRecord)).records;
    const deals = [
      ...opportunities.map((o) => ({ at: o.CreatedDate ?? '', deal: this.deal(o.Id, 'Opportunity', o.Name ?? o.Id, o.StageName ?? null) })),
      ...cases.map((c) => ({ at: c.CreatedDate ?? '', deal: this.deal(c.Id, 'Case', `Case ${c.CaseNumber ?? c.Id}${c.Subject ? `: ${c.Subject}` : ''}`, c.Status ?? null) })),
    ];
    return deals.sort((a, b) => instant(b.at) - instant(a.at) || 0).slice(0, 20).map((d) => d.deal);
  }

  /** A new caller is a Lead (Salesforce's record for a person not yet qualified); Company is required, so it says so. */
  async createContact(input: NewContactInput): Promise<CrmContact> {
    const owner = await this.owners.forWrite(input.ownerId);
    const words = input.name?.trim().split(/\s+/).filter(Boolean) ?? [];
    const LastName = (words.length > 0 ? words.slice(-1)[0]! : input.e164).slice(0, 80);
    const fields = {
      ...(words.length > 1 ? { FirstName: words.slice(0, -1).join(' ').slice(0, 40) } : {}),
      LastName,
      Company: '[not provided]',
      Phone: input.e164,
      LeadSource: 'Phone Inquiry',
      ...(owner.id ? { OwnerId: owner.id } : {}),
    };
    const created = await this.call({ method: 'POST', path: '/sobjects/Lead', json: fields, schema: CreateResponse });
    const name = [fields.FirstName, LastName].filter(Boolean).join(' ');
    return { id: created.id, kind: 'Lead', name, company: null, phones: [input.e164], ownerId: owner.id, lastActivityAt: null, url: this.contactUrl({ id: created.id, kind: 'Lead' }), updatedAt: null };
  }

  private deal(id: string, kind: 'Opportunity' | 'Case', name: string, stage: string | null): CrmDeal {
    return { id, kind, name, stage, url: this.contactUrl({ id, kind }) };
  }

  /**
   * The active User whose Email is this address; Email is not unique, so several are told apart by
   * Username (unique, usually the same e-mail), else none is guessed. SOQL `=` ignores case.
   */
  private async activeUser(email: string): Promise<OwnerResolution | null> {
    const where = (field: 'Email' | 'Username') => `SELECT Id, Username FROM User WHERE ${field} = ${soqlString(email)} AND IsActive = true LIMIT 10`;
    const byEmail = (await this.query(where('Email'), UserRecord)).records;
    const pick = byEmail.length === 1 ? byEmail[0] : byEmail.find((u) => u.Username?.toLowerCase() === email);
    if (pick) return { id: pick.Id };
    if (byEmail.length > 1) return { id: null, reason: `${byEmail.length} active Salesforce users have the e-mail ${email} and none has it as username` };
    const byUsername = (await this.query(where('Username'), UserRecord)).records[0];
    return byUsername ? { id: byUsername.Id } : null;
  }

  async attachRecording(record: CrmCallRecord, file: RecordingFile, _callKey: string, memo?: StepMemo): Promise<void> {
    // ContentVersion has no external id: the (Task, file name) pair is the dedupe key, looked up
    // when an earlier attempt may have uploaded it.
    if (!firstSend(memo, 'uploadSent')) {
      const existing = await this.query(
        `SELECT Id FROM ContentVersion WHERE FirstPublishLocationId = ${soqlString(record.id)} AND Title = ${soqlString(file.fileName)} LIMIT 1`,
        IdRecord,
      );
      if (existing.records[0]) return;
    }
    await this.call({
      method: 'POST',
      path: '/sobjects/ContentVersion',
      json: {
        Title: file.fileName,
        PathOnClient: file.fileName,
        VersionData: Buffer.from(file.data).toString('base64'),
        FirstPublishLocationId: record.id,
      },
      schema: CreateResponse,
    });
  }

  /** A "Not Started" to-do Task due on the call-back date, on the caller; found again by its marker. */
  async createFollowUpTask(record: CrmCallRecord, input: FollowUpTaskInput): Promise<void> {
    const marker = followUpMarker(input.callKey);
    const existing = await this.query(`SELECT Id FROM Task WHERE CallObject = ${soqlString(marker)} LIMIT 1`, IdRecord);
    if (existing.records[0]) return;
    const owner = await this.owners.forWrite(input.ownerId);
    const fields: FollowUpTaskFields = {
      Subject: input.subject.slice(0, 255),
      TaskSubtype: 'Task',
      Type: 'Call',
      Status: 'Not Started',
      Priority: 'High',
      ActivityDate: input.dueAt.slice(0, 10),
      CallObject: marker,
      // A Task cannot point at another Task (WhatId): the logged call is named in the comments.
      Description: withOwnerNote(`Missed call, logged as ${record.url ?? record.id}`, owner),
      ...(input.contact ? { WhoId: input.contact.id } : {}),
      ...(owner.id ? { OwnerId: owner.id } : {}),
    };
    await this.call({ method: 'POST', path: '/sobjects/Task', json: fields, schema: CreateResponse });
  }

  /** CallDisposition is free text on Task (string 255): the common outcomes are offered. */
  listDispositions(): Promise<Array<{ id: string; label: string }>> {
    return Promise.resolve([...COMMON_DISPOSITIONS]);
  }

  async syncContacts(cursor: string | null): Promise<ContactPage> {
    const position: SyncCursor = cursor ? (JSON.parse(cursor) as SyncCursor) : { kind: 'Contact', since: { Contact: null, Lead: null }, next: null };
    const { kind } = position;
    const page = position.next
      ? await this.call({ path: position.next, schema: QueryResponse(ContactRecord) })
      : await this.query(
          // No LIMIT: Salesforce pages the result itself (nextRecordsUrl), which the cursor follows.
          `SELECT ${FIELDS[kind].join(', ')} FROM ${kind}${position.since[kind] ? ` WHERE LastModifiedDate >= ${position.since[kind]}` : ''} ORDER BY LastModifiedDate ASC`,
          ContactRecord,
        );
    const contacts = page.records.map((r) => this.toContact(r));
    const since = { ...position.since };
    for (const c of contacts) {
      if (c.updatedAt && (!since[kind] || instant(c.updatedAt) > instant(since[kind]!))) since[kind] = soqlDateTime(c.updatedAt);
    }
    if (!page.done && page.nextRecordsUrl) {
      return { contacts, cursor: JSON.stringify({ kind, since, next: page.nextRecordsUrl }), hasMore: true };
    }
    // Contacts done: continue with leads; leads done: the sweep is complete.
    const nextKind = KINDS[(KINDS.indexOf(kind) + 1) % KINDS.length]!;
    return { contacts, cursor: JSON.stringify({ kind: nextKind, since, next: null }), hasMore: nextKind !== 'Contact' };
  }

  private record(id: string): CrmCallRecord {
    return { id, url: `${this.options.instanceUrl}/lightning/r/Task/${encodeURIComponent(id)}/view` };
  }

  private toContact(r: ContactRecord): CrmContact {
    const kind = r.attributes.type;
    return {
      id: r.Id,
      kind,
      name: r.Name ?? r.Phone ?? r.Id,
      company: r.Company ?? null,
      phones: PHONE_FIELDS.map((f) => r[f]).filter((p): p is string => !!p),
      ownerId: r.OwnerId ?? null,
      lastActivityAt: r.LastActivityDate ?? null,
      url: this.contactUrl({ id: r.Id, kind }),
      updatedAt: r.LastModifiedDate ?? null,
    };
  }
}

/** The call Task's fields; TaskSubtype is create-only, so logCall adds it. */
function taskFields(input: CallLogInput, owner: WriteOwner): Omit<TaskInput, 'TaskSubtype'> {
  const when = new Date(input.startedAt);
  const lines = [
    withOwnerNote(input.notes, owner),
    '',
    `From: ${input.from}`,
    `To: ${input.to}`,
    `Started: ${when.toISOString()}`,
    input.answeredAt ? `Answered: ${new Date(input.answeredAt).toISOString()}` : 'Not answered',
  ];
  return {
    Subject: input.subject.slice(0, 255),
    Type: 'Call',
    // "In Progress" is a standard TaskStatus value: the live record while the call is on.
    Status: input.status === 'in_progress' ? 'In Progress' : 'Completed',
    CallType: input.direction === 'inbound' ? 'Inbound' : input.direction === 'outbound' ? 'Outbound' : 'Internal',
    CallDurationInSeconds: Math.round(input.durationSec),
    CallObject: input.callKey,
    CallDisposition: (input.disposition?.label ?? DISPOSITION[input.outcome]).slice(0, 255),
    // Task has no from/to or start-time fields: they go in the description.
    Description: lines.join('\n').trim(),
    ActivityDate: when.toISOString().slice(0, 10),
    ...(input.contact ? { WhoId: input.contact.id } : {}),
    // The Opportunity or Case, only beside a Contact (a lead's Task relates to nothing else).
    ...(input.deal && input.contact?.kind === 'Contact' ? { WhatId: input.deal.id } : {}),
    ...(owner.id ? { OwnerId: owner.id } : {}),
  };
}

/** The follow-up Task's CallObject: distinct from the call's own (the callKey), within 255 characters. */
function followUpMarker(callKey: string): string {
  return `ringbridge-follow-up:${callKey}`.slice(0, 255);
}

/** A SOQL string literal; `'` and `\` are the reserved characters (documented). */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Salesforce writes datetimes as 2026-01-01T00:00:00.000+0000; make the offset ISO so Date.parse reads it. */
function instant(value: string): number {
  return Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
}

/** SOQL datetime literals are unquoted ISO 8601 in UTC, e.g. 2026-01-01T00:00:00.000Z. */
function soqlDateTime(value: string): string {
  return new Date(instant(value)).toISOString();
}

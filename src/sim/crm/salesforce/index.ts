// Salesforce simulator. Salesforce publishes no OpenAPI for the sObject REST API, so the wire is
// checked with the simulator's own zod schemas, written from Salesforce's documentation
// (schemas.ts), and a small SOQL/SOSL reader that accepts only the statement shapes the docs describe.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { simError, startCrmSimulator, type CrmSimulator, type StatusFault } from '../common/index.js';
import { DAY_MS, RollingWindow } from '../common/rolling-window.js';
import {
  ContentVersionCreateBody,
  LeadCreateBody,
  OWNER_ID,
  QueryResult,
  RECORD_ID,
  SF_API_VERSION as API_VERSION,
  SaveResult,
  SearchResult,
  StatementParams,
  TaskCreateBody,
  TaskUpdateBody,
  UserFields,
} from './schemas.js';

export type SfRecord = Record<string, unknown> & { Id: string };
type SObjectType = 'Contact' | 'Lead' | 'Task' | 'ContentVersion' | 'User' | 'Opportunity' | 'Case' | 'OpportunityContactRole';

export interface SalesforceSim extends CrmSimulator {
  readonly records: Record<SObjectType, Map<string, SfRecord>>;
  /** The user who signs in (the token's identity URL names them): 005SIM000000001AAA. */
  readonly signedInUserId: string;
  /** Adds a Contact or Lead, or an Opportunity (with IsClosed) or Case (ContactId, IsClosed); LastModifiedDate defaults to now. Returns its id. */
  add(type: 'Contact' | 'Lead' | 'Opportunity' | 'Case', fields: Record<string, unknown>): string;
  /** Makes the contact play a role on the opportunity (OpportunityContactRole). */
  addContactRole(opportunityId: string, contactId: string): string;
  /** Adds a User (Username, Email, LastName required; active unless IsActive false). Returns its Id. */
  addUser(fields: z.input<typeof UserFields>): string;
}

export interface SalesforceSimOptions {
  /** Records per query page before nextRecordsUrl (Salesforce's default batch is 2000). */
  queryBatchSize?: number;
  /**
   * The org's API requests per rolling 24 hours: Developer Edition 15,000 (the default); Enterprise
   * 100,000 + 1,000 per Salesforce licence (API request limits and allocations, limits cheatsheet).
   */
  dailyApiRequests?: number;
  /** Requests the org already made in the current 24 hours (other integrations); default 0. */
  apiRequestsUsed?: number;
  /** Clock of the 24-hour window (ms); tests pin it. */
  now?: () => number;
}

const ERROR_CODES: Record<number, string> = { 400: 'INVALID_FIELD', 401: 'INVALID_SESSION_ID', 403: 'REQUEST_LIMIT_EXCEEDED', 404: 'NOT_FOUND', 500: 'UNKNOWN_EXCEPTION', 503: 'SERVER_UNAVAILABLE' };
const ID_PREFIX: Record<SObjectType, string> = { Contact: '003', Lead: '00Q', Task: '00T', ContentVersion: '068', User: '005', Opportunity: '006', Case: '500', OpportunityContactRole: '00K' };

/** Salesforce's REST error body: an array of {message, errorCode}. */
export function salesforceError(status: number, message: string, errorCode?: string, fields?: string[]) {
  return [{ message, errorCode: errorCode ?? ERROR_CODES[status] ?? 'UNKNOWN_EXCEPTION', ...(fields ? { fields } : {}) }];
}

/** What Salesforce answers for a URL it has no resource at (REST status codes: 404 NOT_FOUND). */
const NOT_FOUND_MESSAGE = 'The requested resource does not exist';

/** The org's daily API allocation is used up (403 REQUEST_LIMIT_EXCEEDED per NOTES.md). */
export const requestLimitExceeded: StatusFault = {
  status: 403,
  body: salesforceError(403, 'TotalRequests Limit exceeded.', 'REQUEST_LIMIT_EXCEEDED'),
};

export async function startSalesforceSim(options: SalesforceSimOptions = {}): Promise<SalesforceSim> {
  const records = Object.fromEntries(Object.keys(ID_PREFIX).map((type) => [type, new Map<string, SfRecord>()])) as Record<SObjectType, Map<string, SfRecord>>;
  let counter = 0;
  const newId = (type: SObjectType) => `${ID_PREFIX[type]}SIM${String(++counter).padStart(9, '0')}AAA`;
  const addUser = (fields: z.input<typeof UserFields>) => {
    const user = UserFields.parse(fields);
    const Id = newId('User');
    records.User.set(Id, { ...user, Name: [user.FirstName, user.LastName].filter(Boolean).join(' '), Id, LastModifiedDate: sfDateTime(new Date()) });
    return Id;
  };
  // The org's first user is the one who signs in (the identity URL in the token response names it).
  const signedInUserId = addUser({ Username: 'admin@sim.example.com', Email: 'admin@sim.example.com', FirstName: 'Sim', LastName: 'Admin' });
  let instanceUrl = '';
  const daily = new RollingWindow(options.dailyApiRequests ?? 15_000, DAY_MS, options.now);
  daily.take(options.apiRequestsUsed ?? 0);

  const sim = await startCrmSimulator({
    errorBody: (status, message) => salesforceError(status, status === 404 ? NOT_FOUND_MESSAGE : message),
    // Every REST call counts against the daily allocation, reported in Sforce-Limit-Info
    // (headers_api_usage.htm); past it Salesforce answers REQUEST_LIMIT_EXCEEDED.
    rateLimit: () => {
      const allowed = daily.tryTake();
      const headers = { 'sforce-limit-info': `api-usage=${daily.used}/${daily.limit}` };
      return allowed ? { headers } : { headers, refuse: requestLimitExceeded };
    },
    oauth: {
      authorizePath: '/services/oauth2/authorize',
      tokenPath: '/services/oauth2/token',
      revokePath: '/services/oauth2/revoke',
      clientId: 'salesforce-sim-consumer-key',
      sendExpiresIn: false,
      tokenExtras: () => ({
        instance_url: instanceUrl,
        id: `${instanceUrl}/id/00DSIM000000001AAA/${signedInUserId}`,
        issued_at: String(Date.now()),
        signature: 'sim',
        scope: 'api refresh_token',
      }),
    },
    routes: (app, s) => registerRoutes(app, s, records, newId, options.queryBatchSize ?? 2000),
  });
  instanceUrl = sim.url;

  return Object.assign(sim, {
    records,
    signedInUserId,
    addUser,
    add(type: 'Contact' | 'Lead' | 'Opportunity' | 'Case', fields: Record<string, unknown>) {
      const Id = newId(type);
      records[type].set(Id, { LastModifiedDate: sfDateTime(new Date()), CreatedDate: sfDateTime(new Date()), ...fields, Id });
      return Id;
    },
    addContactRole(OpportunityId: string, ContactId: string) {
      const Id = newId('OpportunityContactRole');
      records.OpportunityContactRole.set(Id, { Id, OpportunityId, ContactId, IsPrimary: false });
      return Id;
    },
  });
}

function registerRoutes(
  app: FastifyInstance,
  sim: CrmSimulator,
  records: Record<SObjectType, Map<string, SfRecord>>,
  newId: (type: SObjectType) => string,
  batchSize: number,
): void {
  const base = `/services/data/${API_VERSION}`;
  const cfg = { config: { outsideSpec: true } };
  const locators = new Map<string, { type: string; rows: SfRecord[] }>();
  let locatorCount = 0;

  const page = (type: string, rows: SfRecord[], offset: number) => {
    const slice = rows.slice(offset, offset + batchSize);
    const done = offset + batchSize >= rows.length;
    let nextRecordsUrl: string | undefined;
    if (!done) {
      const locator = `01gSIM${++locatorCount}-${offset + batchSize}`;
      locators.set(locator, { type, rows });
      nextRecordsUrl = `${base}/query/${locator}`;
    }
    return QueryResult.parse({ totalSize: rows.length, done, records: slice.map((r) => withAttributes(type, r)), ...(nextRecordsUrl ? { nextRecordsUrl } : {}) });
  };

  app.get(`${base}/query`, cfg, async (req) => {
    const { q } = sim.parse(StatementParams, req.query, 'GET /query');
    const parsed = parseSoql(q);
    if (!parsed) return badQuery(sim, q);
    const store = records[parsed.from as SObjectType];
    if (!store) throw simError(400, salesforceError(400, `sObject type '${parsed.from}' is not supported.`, 'INVALID_TYPE'));
    let rows = [...store.values()].filter((r) => parsed.where.every((c) => compareField(r[c.field], c.op, c.value)));
    if (parsed.orderBy) rows.sort((a, b) => String(a[parsed.orderBy!] ?? '').localeCompare(String(b[parsed.orderBy!] ?? '')));
    if (parsed.limit !== null) rows = rows.slice(0, parsed.limit);
    return page(parsed.from, rows.map((r) => pick(r, parsed.fields)), 0);
  });

  app.get(`${base}/query/:locator`, cfg, async (req) => {
    const locator = (req.params as { locator: string }).locator;
    const cursor = locators.get(locator);
    if (!cursor) throw simError(400, salesforceError(400, 'invalid query locator', 'INVALID_QUERY_LOCATOR'));
    return page(cursor.type, cursor.rows, Number(locator.split('-')[1]));
  });

  app.get(`${base}/search`, cfg, async (req) => {
    const { q } = sim.parse(StatementParams, req.query, 'GET /search');
    const m = /^FIND \{(\d+)\} IN PHONE FIELDS RETURNING (.+)$/i.exec(q);
    if (!m) return badQuery(sim, q);
    const digits = m[1]!;
    const searchRecords: Array<Record<string, unknown>> = [];
    for (const [, type, fieldList] of m[2]!.matchAll(/(\w+)\(([^)]*)\)/g)) {
      const store = records[type as SObjectType];
      if (!store) return badQuery(sim, q);
      const fields = fieldList!.split(',').map((f) => f.trim());
      for (const r of store.values()) {
        const phones = ['Phone', 'MobilePhone', 'HomePhone', 'OtherPhone'].map((f) => String(r[f] ?? '').replace(/\D/g, ''));
        if (phones.some((p) => p && p.endsWith(digits))) searchRecords.push(withAttributes(type!, pick(r, fields)));
      }
    }
    return SearchResult.parse({ searchRecords });
  });

  /**
   * OwnerId as Salesforce checks it: not an Id at all is MALFORMED_ID; an Id that is no active User
   * (or queue) of the org is INVALID_CROSS_REFERENCE_KEY. Codes from the API's StatusCode list
   * (Core Data Types); the message wording is [U].
   */
  const checkOwner = (body: unknown) => {
    const owner = (body as { OwnerId?: unknown } | null)?.OwnerId;
    if (owner === undefined) return;
    if (typeof owner !== 'string' || !RECORD_ID.test(owner)) {
      throw simError(400, salesforceError(400, `Assigned To ID: id value of incorrect type: ${String(owner)}`, 'MALFORMED_ID', ['OwnerId']));
    }
    const user = records.User.get(owner);
    if (!OWNER_ID.test(owner) || (owner.startsWith('005') && user?.IsActive !== true)) {
      throw simError(400, salesforceError(400, 'invalid cross reference id', 'INVALID_CROSS_REFERENCE_KEY', ['OwnerId']));
    }
  };

  /**
   * WhoId names an existing Contact or Lead; WhatId an existing record, and must be empty when WhoId
   * is a Lead (the Task object reference's WhatId description as we recall it; not re-read this session, [U]).
   */
  const checkLinks = (task: { WhoId?: string | null; WhatId?: string | null }) => {
    if (task.WhoId && !records.Contact.has(task.WhoId) && !records.Lead.has(task.WhoId)) {
      throw simError(400, salesforceError(400, `Name ID: id value of incorrect type: ${task.WhoId}`, 'FIELD_INTEGRITY_EXCEPTION', ['WhoId']));
    }
    if (task.WhatId && !Object.values(records).some((store) => store.has(task.WhatId!))) {
      throw simError(400, salesforceError(400, `Related To ID: id value of incorrect type: ${task.WhatId}`, 'FIELD_INTEGRITY_EXCEPTION', ['WhatId']));
    }
    if (task.WhatId && task.WhoId && records.Lead.has(task.WhoId)) {
      throw simError(400, salesforceError(400, 'Lead/Contact ID: A task for a lead cannot also be related to another record', 'FIELD_INTEGRITY_EXCEPTION', ['WhatId']));
    }
  };

  app.post(`${base}/sobjects/Lead`, cfg, async (req, reply) => {
    checkOwner(req.body);
    const lead = sim.parse(LeadCreateBody, req.body, 'POST /sobjects/Lead body');
    const Id = newId('Lead');
    const Name = [lead.FirstName, lead.LastName].filter(Boolean).join(' ');
    records.Lead.set(Id, { ...lead, Name, Id, LastModifiedDate: sfDateTime(new Date()) });
    return reply.code(201).send(SaveResult.parse({ id: Id, success: true, errors: [] }));
  });

  app.post(`${base}/sobjects/Task`, cfg, async (req, reply) => {
    checkOwner(req.body);
    const task = sim.parse(TaskCreateBody, req.body, 'POST /sobjects/Task body');
    checkLinks(task);
    const Id = newId('Task');
    records.Task.set(Id, { Status: 'Not Started', Priority: 'Normal', ...task, Id, LastModifiedDate: sfDateTime(new Date()) });
    return reply.code(201).send(SaveResult.parse({ id: Id, success: true, errors: [] }));
  });

  app.patch(`${base}/sobjects/Task/:id`, cfg, async (req, reply) => {
    checkOwner(req.body);
    const update = sim.parse(TaskUpdateBody, req.body, 'PATCH /sobjects/Task body');
    const task = records.Task.get((req.params as { id: string }).id);
    if (!task) throw simError(404, salesforceError(404, 'The requested resource does not exist', 'NOT_FOUND'));
    checkLinks({ WhoId: (update.WhoId !== undefined ? update.WhoId : task.WhoId) as string | null, WhatId: (update.WhatId !== undefined ? update.WhatId : task.WhatId) as string | null });
    Object.assign(task, update, { LastModifiedDate: sfDateTime(new Date()) });
    return reply.code(204).send();
  });

  app.post(`${base}/sobjects/ContentVersion`, cfg, async (req, reply) => {
    const version = sim.parse(ContentVersionCreateBody, req.body, 'POST /sobjects/ContentVersion body');
    if (version.FirstPublishLocationId !== undefined && !records.Task.has(version.FirstPublishLocationId)) {
      throw simError(400, salesforceError(400, 'invalid cross reference id', 'INVALID_CROSS_REFERENCE_KEY', ['FirstPublishLocationId']));
    }
    const Id = newId('ContentVersion');
    records.ContentVersion.set(Id, { Title: version.PathOnClient, ...version, Id, ContentDocumentId: `069${Id.slice(3)}` });
    return reply.code(201).send(SaveResult.parse({ id: Id, success: true, errors: [] }));
  });
}

interface Soql {
  fields: string[];
  from: string;
  where: Array<{ field: string; op: string; value: string | string[] }>;
  orderBy: string | null;
  limit: number | null;
}

/** SELECT f, … FROM Obj [WHERE f op v [AND …]] [ORDER BY f ASC] [LIMIT n]: the shapes the adapter may send. */
function parseSoql(q: string): Soql | null {
  const m = /^SELECT (.+?) FROM (\w+)(?: WHERE (.+?))?(?: ORDER BY (\w+)(?: ASC)?)?(?: LIMIT (\d+))?$/i.exec(q.trim());
  if (!m) return null;
  const where: Soql['where'] = [];
  for (const cond of m[3] ? m[3].split(/ AND (?=(?:[^']*'[^']*')*[^']*$)/) : []) {
    const list = /^(\w+) IN \(('(?:[^'\\]|\\.)*'(?:, ?'(?:[^'\\]|\\.)*')*)\)$/i.exec(cond.trim());
    if (list) {
      where.push({ field: list[1]!, op: 'IN', value: [...list[2]!.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((v) => v[1]!.replace(/\\(.)/g, '$1')) });
      continue;
    }
    const c = /^(\w+) (=|>=|<=|>|<) ('(?:[^'\\]|\\.)*'|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d)|true|false)$/.exec(cond.trim());
    if (!c) return null;
    const raw = c[3]!;
    where.push({ field: c[1]!, op: c[2]!, value: raw.startsWith("'") ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw });
  }
  return { fields: m[1]!.split(',').map((f) => f.trim()), from: m[2]!, where, orderBy: m[4] ?? null, limit: m[5] ? Number(m[5]) : null };
}

function badQuery(sim: CrmSimulator, q: string): never {
  sim.recordViolation(`unsupported or malformed query: ${q}`);
  throw simError(400, salesforceError(400, `unexpected token in: ${q}`, 'MALFORMED_QUERY'));
}

function compareField(actual: unknown, op: string, expected: string | string[]): boolean {
  if (Array.isArray(expected)) return expected.some((e) => compareField(actual, '=', e));
  if (actual === undefined || actual === null) return false;
  const a = String(actual);
  const isDate = /^\d{4}-\d\d-\d\dT/.test(expected);
  // SOQL compares text case-insensitively (comparison operators page): 'Jane@Acme.com' = 'jane@acme.com'.
  const diff = isDate ? instant(a) - instant(expected) : a.localeCompare(expected, 'en', { sensitivity: 'accent' });
  return op === '=' ? diff === 0 : op === '>=' ? diff >= 0 : op === '>' ? diff > 0 : op === '<=' ? diff <= 0 : diff < 0;
}

function instant(value: string): number {
  return Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
}

function pick(r: SfRecord, fields: string[]): SfRecord {
  return Object.fromEntries(fields.map((f) => [f, r[f] ?? null])) as SfRecord;
}

function withAttributes(type: string, r: SfRecord) {
  return { attributes: { type, url: `/services/data/${API_VERSION}/sobjects/${type}/${r.Id}` }, ...r };
}

/** Salesforce's datetime format: 2026-01-01T00:00:00.000+0000. */
export function sfDateTime(d: Date): string {
  return d.toISOString().replace('Z', '+0000');
}

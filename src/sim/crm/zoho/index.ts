// Zoho CRM v8 simulator: one data centre per instance (start two for multi-DC tests). Contacts,
// Leads and Calls records, phone/criteria search, Calls attachments, OAuth with PKCE and the
// multi-DC redirect (`location`, `accounts-server`) and `api_domain` in the token response.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isSimFile, startCrmSimulator, type CrmSimulator } from '../common/index.js';
import { zohoError } from './errors.js';
import { ZohoLimits, type ZohoEdition } from './limits.js';
import { zohoSpecWithOverlay } from './spec.js';

export type ZohoRecord = Record<string, unknown> & { id: string; Modified_Time: string; Created_Time: string };

export interface ZohoAttachment {
  id: string;
  fileName: string;
  size: number;
  data: Buffer;
}

export interface ZohoSimOptions {
  /** DC code put on the OAuth redirect (`us`, `eu`, …). */
  location?: string;
  /** API name of the unique Calls field the org created for the call key. */
  callKeyField?: string;
  /** The org's edition, which sets its API credits and concurrency (limits.ts); default standard. */
  edition?: ZohoEdition;
  /** User licences (credits grow with them); default 1. */
  userLicences?: number;
  /** Credits already spent in the current 24 hours; default 0. */
  creditsUsed?: number;
  /** Clock of the 24-hour credit window (ms); tests pin it. */
  now?: () => number;
}

/** A CRM user (users.json `users`): the numeric id is what a record's Owner takes. */
export interface ZohoUser {
  id: string;
  email: string;
  full_name: string;
  last_name: string;
  status: 'active' | 'disabled';
  confirm: boolean;
}

export interface ZohoSimulator extends CrmSimulator {
  readonly records: { Contacts: ZohoRecord[]; Leads: ZohoRecord[]; Calls: ZohoRecord[]; Tasks: ZohoRecord[]; Deals: ZohoRecord[] };
  /** The org's users; the first is the one who signs in. */
  readonly users: ZohoUser[];
  addUser(user: { email: string; name: string; active?: boolean }): ZohoUser;
  readonly attachments: Map<string, ZohoAttachment[]>;
  /** The edition's API credits and concurrency in force. */
  readonly limits: ZohoLimits;
  /** A Deals record names its contact in the `Contact_Name` lookup ({ id }). */
  addRecord(module: 'Contacts' | 'Leads' | 'Deals', fields: Record<string, unknown>, modifiedTime?: string): ZohoRecord;
}

const PHONE_FIELDS = ['Phone', 'Mobile', 'Home_Phone', 'Other_Phone', 'Asst_Phone'];
const USER = { id: '5000000000001', name: 'Sim Agent', email: 'agent@example.com' };
const MODULES = ['Contacts', 'Leads', 'Calls', 'Tasks', 'Deals'] as const;
type Module = (typeof MODULES)[number];

export async function startZohoSimulator(options: ZohoSimOptions = {}): Promise<ZohoSimulator> {
  const location = options.location ?? 'us';
  const keyField = options.callKeyField ?? 'Ringbridge_Call_Key';
  const spec = zohoSpecWithOverlay();
  const records: ZohoSimulator['records'] = { Contacts: [], Leads: [], Calls: [], Tasks: [], Deals: [] };
  const users: ZohoUser[] = [{ ...USER, full_name: USER.name, last_name: 'Agent', status: 'active', confirm: true }];
  const attachments = new Map<string, ZohoAttachment[]>();
  let nextId = 4_000_000_000_000n;
  const newId = () => String(nextId++);
  let self = '';
  const limits = new ZohoLimits({
    edition: options.edition ?? 'standard',
    userLicences: options.userLicences ?? 1,
    creditsUsed: options.creditsUsed ?? 0,
    now: options.now ?? Date.now,
  });

  const sim = await startCrmSimulator({
    openapi: spec.files,
    rateLimit: () => limits.decide(),
    oauth: {
      authorizePath: '/oauth/v2/auth',
      tokenPath: '/oauth/v2/token',
      revokePath: '/oauth/v2/token/revoke',
      requirePkce: true,
      accessTtlSec: 3600,
      // A Mobile-based client registers the app's scheme as its redirect (Zoho mobile-applications page).
      allowRedirect: (uri) => uri.startsWith('ringbridge://oauth/callback') || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(uri),
      // A refresh token only for access_type=offline, and for a repeat grant only with prompt=consent
      // (Zoho accounts docs: oauth/mobile-and-desktop-apps/get-authorization-code.html).
      grantsRefreshToken: (q, heldBefore) => q.access_type === 'offline' && (!heldBefore || q.prompt === 'consent'),
      redirectExtras: () => ({ location, 'accounts-server': self }),
      tokenExtras: () => ({ api_domain: self, token_type: 'Bearer' }),
    },
    errorBody: (status, message) => {
      if (status === 401) return zohoError('INVALID_TOKEN', 'invalid oauth token');
      // Zoho's bodies for an unknown URL and a missing parameter (crm-oas v8.0 examples
      // response-404-invalidurlpattern, attachments getAttachments response-400-requiredparammissing).
      if (status === 404) return zohoError('INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
      const missing = /query parameter (\S+) is required/.exec(message)?.[1];
      if (status === 400 && missing) return zohoError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param_name: missing });
      if (status === 429) return zohoError('TOO_MANY_REQUESTS', message);
      if (status >= 500) return zohoError('INTERNAL_ERROR', 'Internal server error occurred.');
      return zohoError('INVALID_DATA', message);
    },
    routes: (app, harness) => routes(app, harness),
  });
  self = sim.url;

  function routes(app: FastifyInstance, harness: CrmSimulator): void {
    // Zoho's header is `Authorization: Zoho-oauthtoken <token>`; the harness checks Bearer, so the
    // scheme is translated before Fastify sees the request, and a Bearer token is refused as Zoho would.
    app.server.prependListener('request', (req) => {
      const auth = req.headers.authorization ?? '';
      req.headers.authorization = auth.startsWith('Zoho-oauthtoken ') ? `Bearer ${auth.slice(16)}` : 'Rejected';
    });
    // Runs only for calls the harness let through (token valid, no fault, within limits): each one
    // holds a concurrency slot until its response closes.
    app.addHook('onRequest', async (_req, reply) => limits.track(reply.raw));

    // Get Users (users.json): `type` filters, pages of per_page (at most 200), 204 when none.
    app.get('/crm/v8/users', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const wanted = users.filter((u) => !q.type || q.type === 'AllUsers' || (q.type === 'ActiveUsers') === (u.status === 'active'));
      const perPage = Math.min(Number(q.per_page ?? 200), 200);
      const pageNo = Number(q.page ?? 1);
      const slice = wanted.slice((pageNo - 1) * perPage, pageNo * perPage);
      if (slice.length === 0) return reply.code(204).send();
      return reply.send({ users: slice, info: { per_page: perPage, count: slice.length, page: pageNo, more_records: pageNo * perPage < wanted.length } });
    });

    app.get('/crm/v8/:module/search', async (req, reply) => {
      const module = moduleOf(req);
      const q = req.query as Record<string, string | undefined>;
      let found: ZohoRecord[];
      if (q.criteria !== undefined) {
        const conditions = parseCriteria(q.criteria);
        if (!conditions) return reply.code(400).send(zohoError('INVALID_QUERY', 'invalid query formed', { reason: 'criteria' }));
        // A lookup field (Contact_Name) matches on the id of the record it points at.
        const text = (v: unknown) => (v !== null && typeof v === 'object' && 'id' in v ? String(v.id) : String(v ?? ''));
        found = records[module].filter((r) => conditions.some(([field, value]) => text(r[field]) === value));
      } else if (q.phone !== undefined) {
        // Modelled as: formatting characters ignored, digits compared exactly (country code not inferred).
        const digits = q.phone.replace(/\D/g, '');
        found = records[module].filter((r) => PHONE_FIELDS.some((f) => typeof r[f] === 'string' && (r[f] as string).replace(/\D/g, '') === digits));
      } else {
        return reply.code(400).send(zohoError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing'));
      }
      // No match is 204 No Content with no body (v8 status-codes page), not an empty page.
      if (found.length === 0) return reply.code(204).send();
      return reply.send(page(found.map((r) => pick(r, q.fields)), 1, 200, found.length, false));
    });

    app.get('/crm/v8/:module', async (req, reply) => {
      const module = moduleOf(req);
      const q = req.query as Record<string, string | undefined>;
      const since = req.headers['if-modified-since'];
      const sinceMs = typeof since === 'string' ? Date.parse(since) : NaN;
      const all = records[module]
        .filter((r) => Number.isNaN(sinceMs) || Date.parse(r.Modified_Time) > sinceMs)
        .sort((a, b) => Date.parse(a.Modified_Time) - Date.parse(b.Modified_Time) || a.id.localeCompare(b.id));
      // Nothing changed since If-Modified-Since: 304; nothing at all: 204 (v8 status-codes page).
      if (all.length === 0) return reply.code(Number.isNaN(sinceMs) ? 204 : 304).send();
      const perPage = Math.min(Number(q.per_page ?? 200), 200);
      const offset = q.page_token ? Number(Buffer.from(q.page_token, 'base64url').toString()) : 0;
      const slice = all.slice(offset, offset + perPage);
      const more = offset + perPage < all.length;
      const body = page(slice.map((r) => pick(r, q.fields)), Math.floor(offset / perPage) + 1, perPage, slice.length, more);
      if (more) (body.info as Record<string, unknown>).next_page_token = Buffer.from(String(offset + perPage)).toString('base64url');
      return reply.send(body);
    });

    app.post('/crm/v8/:module', async (req, reply) => {
      const module = moduleOf(req);
      const input = harness.parse(bodyData, req.body, 'Create Records body');
      const now = isoNow();
      const results = input.data.map((fields) => {
        const problem = checkOwner(fields) ?? checkCall(module, fields, null) ?? checkTask(module, fields) ?? checkPerson(module, fields);
        if (problem) return problem;
        const record: ZohoRecord = { ...fields, id: newId(), Created_Time: now, Modified_Time: now, Owner: ownerView(fields.Owner) };
        records[module].push(record);
        return { code: 'SUCCESS', details: { id: record.id, Created_Time: now, Modified_Time: now }, message: 'record added', status: 'success' };
      });
      return reply.send({ data: results });
    });

    app.put('/crm/v8/:module/:id', async (req, reply) => {
      const module = moduleOf(req);
      const { id } = req.params as { id: string };
      const input = harness.parse(bodyData, req.body, 'Update Record body');
      const record = records[module].find((r) => r.id === id);
      const fields = input.data[0] ?? {};
      if (!record) return reply.send({ data: [zohoError('INVALID_DATA', 'the id given seems to be invalid.', { id })] });
      const problem = checkOwner(fields) ?? checkCall(module, { ...record, ...fields }, id);
      if (problem) return reply.send({ data: [problem] });
      Object.assign(record, fields, { Modified_Time: isoNow() }, fields.Owner ? { Owner: ownerView(fields.Owner) } : {});
      return reply.send({ data: [{ code: 'SUCCESS', details: { id, Modified_Time: record.Modified_Time }, message: 'record updated', status: 'success' }] });
    });

    app.get('/crm/v8/:module/:id/Attachments', async (req, reply) => {
      const { id } = req.params as { id: string };
      const list = attachments.get(id) ?? [];
      if (list.length === 0) return reply.code(204).send();
      return reply.send({ data: list.map((a) => attachmentView(a, moduleOf(req), id)), info: { per_page: 200, page: 1, count: list.length, more_records: false } });
    });

    app.post('/crm/v8/:module/:id/Attachments', async (req, reply) => {
      const module = moduleOf(req);
      const { id } = req.params as { id: string };
      if (!records[module].some((r) => r.id === id)) {
        return reply.code(400).send({ ...zohoError('INVALID_DATA', 'the related id given seems to be invalid'), details: {} });
      }
      const file = (req.body as Record<string, unknown> | undefined)?.file;
      if (!isSimFile(file)) return reply.code(400).send(zohoError('INVALID_DATA', 'file part missing'));
      const now = isoNow();
      const attachment: ZohoAttachment = { id: newId(), fileName: file.fileName, size: file.data.length, data: file.data };
      attachments.set(id, [...(attachments.get(id) ?? []), attachment]);
      return reply.send({
        data: [
          {
            code: 'SUCCESS',
            message: 'attachment uploaded successfully',
            status: 'success',
            details: { id: attachment.id, Modified_Time: now, Created_Time: now, Modified_By: USER, Created_By: USER },
          },
        ],
      });
    });
  }

  function moduleOf(req: FastifyRequest): Module {
    const { module } = req.params as { module: string };
    if (!(MODULES as readonly string[]).includes(module)) {
      throw Object.assign(new Error('module'), { statusCode: 400, vendorBody: zohoError('INVALID_MODULE', 'The module name given seems to be invalid') });
    }
    return module as Module;
  }

  /**
   * Owner is a lookup to a user: a non-numeric id is invalid data, an id no active user has "the
   * given id seems to be invalid" (both INVALID_DATA, messages from record.json's error enum; which
   * message Zoho picks for each case is [U]).
   */
  function checkOwner(fields: Record<string, unknown>) {
    if (fields.Owner === undefined) return null;
    const id = (fields.Owner as { id?: unknown } | null)?.id;
    const details = { api_name: 'Owner', json_path: '$.data[0].Owner.id' };
    if (typeof id !== 'string' || !/^\d+$/.test(id)) return zohoError('INVALID_DATA', 'invalid data', { ...details, expected_data_type: 'lookup' });
    if (!users.some((u) => u.id === id && u.status === 'active')) return zohoError('INVALID_DATA', 'the given id seems to be invalid', details);
    return null;
  }

  /** A stored record's Owner as Zoho returns it (Minified_User: name, id, email); the signed-in user by default. */
  function ownerView(owner: unknown) {
    const id = (owner as { id?: string } | undefined)?.id ?? USER.id;
    const user = users.find((u) => u.id === id)!;
    return { name: user.full_name, id: user.id, email: user.email };
  }

  /** Tasks validation: Subject mandatory, date-only Due_Date, standard Status/Priority picklists, lookups, the unique key field. */
  function checkTask(module: Module, fields: Record<string, unknown>) {
    if (module !== 'Tasks') return null;
    const invalid = (api_name: string) => zohoError('INVALID_DATA', 'Please check whether the input values are correct', { api_name });
    if (!fields.Subject) return zohoError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'Subject' });
    if (fields.Due_Date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(fields.Due_Date))) return invalid('Due_Date');
    if (fields.Status !== undefined && !['Not Started', 'Deferred', 'In Progress', 'Completed', 'Waiting for input'].includes(String(fields.Status))) return invalid('Status');
    if (fields.Priority !== undefined && !['High', 'Highest', 'Low', 'Lowest', 'Normal'].includes(String(fields.Priority))) return invalid('Priority');
    const who = fields.Who_Id as { id?: string } | undefined;
    if (who && !records.Contacts.some((c) => c.id === who.id)) return invalid('Who_Id');
    const what = fields.What_Id as { id?: string } | undefined;
    if (what && !(fields.$se_module === 'Leads' && records.Leads.some((l) => l.id === what.id))) return invalid('What_Id');
    const key = fields[keyField];
    const dup = key === undefined ? undefined : records.Tasks.find((t) => t[keyField] === key);
    if (dup) return zohoError('DUPLICATE_DATA', 'duplicate data', { api_name: keyField, duplicate_record: { id: dup.id, module: { api_name: 'Tasks' } } });
    return null;
  }

  /** Calls validation: mandatory fields, picklist, duration format, lookups, the unique key field. */
  /** Call_Result picklist values of Zoho's standard Calls layout (the adapter offers the same; an account may edit them). */
  const CALL_RESULTS = ['Interested', 'Not interested', 'No response/Busy', 'Requested more info', 'Requested call back', 'Invalid number'];

  /** Contacts and Leads have one mandatory field, Last_Name (insert-records page, mandatory fields). */
  function checkPerson(module: Module, fields: Record<string, unknown>) {
    if ((module === 'Contacts' || module === 'Leads') && !(typeof fields.Last_Name === 'string' && fields.Last_Name.trim())) {
      return zohoError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'Last_Name' });
    }
    return null;
  }

  function checkCall(module: Module, fields: Record<string, unknown>, selfId: string | null) {
    if (module !== 'Calls') return null;
    for (const name of ['Subject', 'Call_Type', 'Call_Start_Time']) {
      if (fields[name] === undefined || fields[name] === null || fields[name] === '') {
        return zohoError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: name });
      }
    }
    if (!['Inbound', 'Outbound', 'Missed'].includes(String(fields.Call_Type))) {
      return zohoError('INVALID_DATA', 'Please check whether the input values are correct', { api_name: 'Call_Type' });
    }
    if (fields.Call_Type !== 'Missed' && !/^\d{2,}:\d{2}$/.test(String(fields.Call_Duration ?? ''))) {
      return zohoError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'Call_Duration' });
    }
    // A picklist: a value the layout lacks is refused like any invalid input [U: the standard layout's values].
    if (fields.Call_Result !== undefined && fields.Call_Result !== null && !CALL_RESULTS.includes(String(fields.Call_Result))) {
      return zohoError('INVALID_DATA', 'Please check whether the input values are correct', { api_name: 'Call_Result' });
    }
    if (Number.isNaN(Date.parse(String(fields.Call_Start_Time))) || /\.\d{3}/.test(String(fields.Call_Start_Time))) {
      return zohoError('INVALID_DATA', 'Please check whether the input values are correct', { api_name: 'Call_Start_Time' });
    }
    const who = fields.Who_Id as { id?: string } | undefined;
    if (who && !records.Contacts.some((c) => c.id === who.id)) {
      return zohoError('INVALID_DATA', 'Please check whether the input values are correct', { api_name: 'Who_Id' });
    }
    // What_Id points into the module $se_module names (a lead, or a deal beside the contact).
    const what = fields.What_Id as { id?: string } | null | undefined;
    const whatModule = fields.$se_module;
    if (what && !((whatModule === 'Leads' || whatModule === 'Deals') && records[whatModule].some((r) => r.id === what.id))) {
      return zohoError('INVALID_DATA', 'Please check whether the input values are correct', { api_name: 'What_Id' });
    }
    const key = fields[keyField];
    const dup = key === undefined ? undefined : records.Calls.find((c) => c[keyField] === key && c.id !== selfId);
    if (dup) return zohoError('DUPLICATE_DATA', 'duplicate data', { api_name: keyField, duplicate_record: { id: dup.id, module: { api_name: 'Calls' } } });
    return null;
  }

  const closeHarness = sim.close;
  const zsim = Object.assign(sim, {
    records,
    users,
    addUser({ email, name, active = true }: { email: string; name: string; active?: boolean }): ZohoUser {
      const user: ZohoUser = { id: newId(), email, full_name: name, last_name: name.split(' ').at(-1)!, status: active ? 'active' : 'disabled', confirm: true };
      users.push(user);
      return user;
    },
    attachments,
    limits,
    addRecord(module: 'Contacts' | 'Leads' | 'Deals', fields: Record<string, unknown>, modifiedTime = isoNow()): ZohoRecord {
      const record: ZohoRecord = { Owner: { id: USER.id, name: USER.name }, ...fields, id: newId(), Created_Time: modifiedTime, Modified_Time: modifiedTime };
      records[module].push(record);
      return record;
    },
    close: async () => {
      await closeHarness();
      spec.dispose();
    },
  });
  return zsim;
}

const bodyData = z.object({ data: z.array(z.record(z.string(), z.unknown())).min(1).max(100) });

/** `(Field:equals:value)` joined by `or`, as the adapter sends; null for anything else. */
function parseCriteria(criteria: string): [string, string][] | null {
  const parts = criteria.replace(/^\(|\)$/g, '').split(/\)or\(/);
  const out: [string, string][] = [];
  for (const part of parts) {
    const m = /^\(?([A-Za-z0-9_]+):equals:(.*?)\)?$/.exec(part);
    if (!m) return null;
    out.push([m[1]!, m[2]!.replace(/\\([(),\\])/g, '$1')]);
  }
  return out;
}

function pick(record: ZohoRecord, fields: string | undefined): Record<string, unknown> {
  if (!fields) return record;
  const out: Record<string, unknown> = { id: record.id };
  for (const f of fields.split(',')) if (f in record) out[f] = record[f];
  return out;
}

function page(data: unknown[], pageNo: number, perPage: number, count: number, more: boolean) {
  return { data, info: { per_page: perPage, count, page: pageNo, more_records: more } as Record<string, unknown> };
}

function attachmentView(a: ZohoAttachment, module: string, parentId: string) {
  const now = isoNow();
  return {
    Owner: USER,
    Modified_By: USER,
    Created_By: USER,
    Parent_Id: { id: parentId, name: 'Call' },
    $sharing_permission: 'full_access',
    $attachment_type: 1,
    id: a.id,
    Modified_Time: now,
    Created_Time: now,
    File_Name: a.fileName,
    Size: String(a.size),
    $editable: true,
    $file_id: `file-${a.id}`,
    $type: 'Attachment',
    $se_module: module,
    $state: 'save',
    $link_url: null,
  };
}

function isoNow(): string {
  return `${new Date().toISOString().slice(0, 19)}+00:00`;
}


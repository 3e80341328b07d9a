// HubSpot simulator: contacts search, calls, tasks, owners, default associations, Files v3 and
// OAuth v1. Every request and answer is validated against HubSpot's official OpenAPI files, vendored
// in ./openapi (README there: source and commit), never against the adapter's own types. Endpoints it
// lacks answer 404 and fail the test; HubSpot's rate limits apply. State is in memory.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isSimFile, simError, startCrmSimulator, type CrmSimulator, type StatusFault, type RateLimitDecision, type SimFile } from '../common/index.js';
import { RollingWindow } from '../common/rolling-window.js';

export const HUBSPOT_SIM_CLIENT = { clientId: 'hubspot-sim-client', clientSecret: 'hubspot-sim-secret' };
export const HUBSPOT_SIM_PORTAL_ID = '62515';

interface StoredObject {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  associations: Array<{ toId: string; typeId: number; toType?: string }>;
  /** Its properties until each recent update, which a lagging search index still shows (`searchLagMs`). */
  earlier?: Array<{ until: number; properties: Record<string, string> }>;
}

export interface StoredFile {
  id: string;
  name: string;
  extension: string;
  path: string;
  data: Buffer;
  contentType: string;
}

export interface HubSpotOwner {
  id: string;
  email: string;
  firstName?: string;
  lastName?: string;
  archived: boolean;
}

/**
 * HubSpot's documented limits for an OAuth app: 100 requests per 10 s per app per account
 * (developers.hubspot.com/changelog/heads-up-new-and-improved-hubspot-api-limits; the current usage
 * page's 110 is unconfirmed, so the lower number), and the CRM search endpoints 4 per second per
 * token (changelog/crm-search-api-rate-limit-increase). The official files mark every search
 * operation `x-hubspot-rate-limit-exemptions: ["ten-secondly"]`: searches count only against theirs.
 */
export const HUBSPOT_RATE_LIMITS = { tenSecondly: 100, searchPerSecond: 4 };

export interface HubSpotSimOptions {
  /** Whether the portal has the custom `ringbridge_call_key` call property (README "Portal setup"). */
  callKeyProperty?: boolean;
  /** Access token lifetime in seconds. */
  accessTtlSec?: number;
  /** HubSpot's rate limits (default); `false` only for tests about something else that must burst. */
  rateLimits?: typeof HUBSPOT_RATE_LIMITS | false;
  /** Clock of the rate-limit windows (ms); tests pin it. */
  now?: () => number;
}

export interface HubSpotSim extends CrmSimulator {
  readonly contacts: Map<string, StoredObject>;
  readonly calls: Map<string, StoredObject>;
  readonly files: Map<string, StoredFile>;
  /** Tasks; `associations` holds the default associations made to calls and contacts (`toType`). */
  readonly tasks: Map<string, StoredObject>;
  /** The portal's users as owners (GET /crm/v3/owners); `hubspot_owner_id` must name one of them. */
  readonly owners: Map<string, HubSpotOwner>;
  /** The portal's call outcomes (GET /calling/v1/dispositions); `hs_call_disposition` must name one. */
  readonly dispositions: Array<{ id: string; label: string }>;
  /** Deals; `associations` names their contacts (`toType` 'contacts'). */
  readonly deals: Map<string, StoredObject>;
  /** Adds a deal of these contacts (`hs_is_closed` 'false' unless given). Returns its id. */
  addDeal(properties: Record<string, string>, contactIds: string[]): string;
  /** The ids of the `toType` objects a call is associated with (ground truth for tests). */
  callLinks(callId: string, toType: 'contacts' | 'deals'): string[];
  /** Adds a contact with these properties; `lastmodifieddate` defaults to now. Returns its id. */
  addContact(properties: Record<string, string>): string;
  /** Adds a HubSpot user (owner); returns its numeric owner id. */
  addOwner(owner: { email: string; id?: string; firstName?: string; lastName?: string; archived?: boolean }): string;
  /**
   * How long search lags writes: a new call or task stays invisible to it, and an updated call shows
   * its earlier properties, for this long (HubSpot's search index is eventually consistent; reads by
   * id and the unique-value check are not). 0 by default.
   */
  searchLagMs: number;
}

/** HubSpot's error body (components/schemas/Error in every spec). */
export function hubspotError(status: number, message: string, category?: string): Record<string, unknown> {
  const byStatus: Record<number, string> = { 400: 'VALIDATION_ERROR', 401: 'INVALID_AUTHENTICATION', 404: 'OBJECT_NOT_FOUND', 429: 'RATE_LIMITS' };
  return { status: 'error', message, correlationId: randomUUID(), category: category ?? byStatus[status] ?? 'INTERNAL_ERROR' };
}

/** The X-HubSpot-RateLimit-* headers of an OAuth call (no Daily ones: changelog/rate-limit-headers-will-now-appear-for-oauth-authenticated-calls). */
function rateLimitHeaders(remaining: number, max = HUBSPOT_RATE_LIMITS.tenSecondly): Record<string, string> {
  return { 'x-hubspot-ratelimit-interval-milliseconds': '10000', 'x-hubspot-ratelimit-max': String(max), 'x-hubspot-ratelimit-remaining': String(remaining) };
}

/**
 * A 429 as HubSpot answers it: the usage guidelines' body (errorType RATE_LIMIT, policyName
 * TEN_SECONDLY_ROLLING with the rate-limit headers; SECONDLY for search, body as HubSpot's own
 * client issues quote it, no headers documented). HubSpot documents no Retry-After; tests may add one.
 */
export function hubspotRateLimitFault(retryAfterSec?: number, policy: 'TEN_SECONDLY_ROLLING' | 'SECONDLY' = 'TEN_SECONDLY_ROLLING'): StatusFault {
  const tenSecondly = policy === 'TEN_SECONDLY_ROLLING';
  return {
    status: 429,
    retryAfterSec,
    headers: tenSecondly ? rateLimitHeaders(0) : {},
    body: {
      status: 'error',
      message: tenSecondly ? 'You have reached your ten_secondly_rolling limit.' : 'You have reached your secondly limit.',
      errorType: 'RATE_LIMIT',
      correlationId: randomUUID(),
      policyName: policy,
      requestId: randomUUID(),
    },
  };
}

/** HubSpot's official files for every endpoint the adapter uses (./openapi/README.md). */
export const HUBSPOT_OPENAPI_FILES = [
  'crm-contacts-v3.json',
  'crm-calls-v3.json',
  'crm-tasks-v3.json',
  'crm-owners-v3.json',
  'crm-associations-v4.json',
  'crm-deals-v3.json',
  'files-v3.json',
  'auth-oauth-v1.json',
  'calling-dispositions-v1.json',
].map((f) => resolve(import.meta.dirname, 'openapi', f));

/**
 * HUBSPOT_DEFINED type ids the simulator reports for default task associations: task -> contact 204
 * appears in public integration code, not on a HubSpot page; task -> call is a placeholder. The
 * adapter never sends or reads them (it uses the default-association endpoint).
 */
const TASK_ASSOCIATION_TYPE: Record<string, number> = { contacts: 204, calls: 216_001 };
/**
 * The same for calls (contact 194, as the adapter sends inline; deal 206 as public integration code
 * has it, unconfirmed) and deals (contact 3). The adapter links calls to deals and re-links contacts
 * with the default-association endpoint and never reads these numbers.
 */
const DEFAULT_ASSOCIATION_TYPE: Record<string, Record<string, number>> = {
  tasks: TASK_ASSOCIATION_TYPE,
  calls: { contacts: 194, deals: 206 },
  deals: { contacts: 3 },
};
/** An association made inline at create names no type: a call's are its contacts. */
const toTypeOf = (a: StoredObject['associations'][number]): string => a.toType ?? 'contacts';

export async function startHubSpotSim(options: HubSpotSimOptions = {}): Promise<HubSpotSim> {
  const contacts = new Map<string, StoredObject>();
  const calls = new Map<string, StoredObject>();
  const files = new Map<string, StoredFile>();
  const tasks = new Map<string, StoredObject>();
  const owners = new Map<string, HubSpotOwner>();
  const deals = new Map<string, StoredObject>();
  let nextId = 1000;
  const newId = () => String(++nextId);
  const dispositions = DEFAULT_DISPOSITION_LABELS.map((label) => ({ id: randomUUID(), label }));
  const state: State = { contacts, calls, files, tasks, owners, deals, dispositions, newId, callKeyProperty: options.callKeyProperty ?? true, searchLagMs: 0 };
  const limits = options.rateLimits ?? HUBSPOT_RATE_LIMITS;

  const sim = await startCrmSimulator({
    openapi: HUBSPOT_OPENAPI_FILES,
    errorBody: (status, message) => hubspotError(status, message),
    rateLimit: limits ? rateLimiter(limits, options.now ?? Date.now) : undefined,
    oauth: {
      authorizePath: '/oauth/authorize',
      tokenPath: '/oauth/v1/token',
      ...HUBSPOT_SIM_CLIENT,
      accessTtlSec: options.accessTtlSec ?? 1800,
      tokenExtras: () => ({ token_use: 'access_token', hub_id: Number(HUBSPOT_SIM_PORTAL_ID) }),
      errorBody: (error, description, status) => ({ ...hubspotError(status, description, error.toUpperCase()), error, error_description: description }),
    },
    routes: (app) => registerRoutes(app, state),
  });

  const hubspot = Object.assign(sim, {
    contacts,
    calls,
    files,
    tasks,
    owners,
    deals,
    dispositions,
    addDeal(properties: Record<string, string>, contactIds: string[]) {
      const id = newId();
      const now = new Date().toISOString();
      const associations = contactIds.map((toId) => ({ toId, typeId: 3, toType: 'contacts' }));
      deals.set(id, { id, properties: { hs_is_closed: 'false', createdate: now, ...properties }, createdAt: now, updatedAt: now, associations });
      return id;
    },
    callLinks(callId: string, toType: 'contacts' | 'deals') {
      return (calls.get(callId)?.associations ?? []).filter((a) => toTypeOf(a) === toType).map((a) => a.toId);
    },
    addOwner(owner: { email: string; id?: string; firstName?: string; lastName?: string; archived?: boolean }) {
      const id = owner.id ?? newId();
      owners.set(id, { id, email: owner.email, firstName: owner.firstName, lastName: owner.lastName, archived: owner.archived ?? false });
      return id;
    },
    addContact(properties: Record<string, string>) {
      const id = newId();
      const now = new Date().toISOString();
      contacts.set(id, { id, properties: { lastmodifieddate: now, ...properties }, createdAt: now, updatedAt: properties.lastmodifieddate ?? now, associations: [] });
      return id;
    },
  });
  // A live view of the state (Object.assign would copy a getter's value once).
  Object.defineProperty(hubspot, 'searchLagMs', {
    get: () => state.searchLagMs,
    set: (ms: number) => (state.searchLagMs = ms),
  });
  return hubspot as HubSpotSim;
}

interface State {
  contacts: Map<string, StoredObject>;
  calls: Map<string, StoredObject>;
  files: Map<string, StoredFile>;
  tasks: Map<string, StoredObject>;
  owners: Map<string, HubSpotOwner>;
  deals: Map<string, StoredObject>;
  dispositions: Array<{ id: string; label: string }>;
  newId: () => string;
  callKeyProperty: boolean;
  searchLagMs: number;
}

interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
  values?: string[];
}

interface SearchBody {
  filterGroups: Array<{ filters: Filter[] }>;
  properties: string[];
  sorts: string[];
  limit: number;
  after: string;
}

/**
 * Sliding windows at HubSpot's numbers: searches per token per second, everything else per portal
 * (the simulator is one portal) per 10 s. Refused requests do not count.
 */
function rateLimiter(limits: typeof HUBSPOT_RATE_LIMITS, clock: () => number) {
  const tenSecondly = new RollingWindow(limits.tenSecondly, 10_000, clock);
  const searches = new Map<string, RollingWindow>();
  return ({ method, path, token }: { method: string; path: string; token: string }): RateLimitDecision => {
    if (method === 'POST' && /^\/crm\/v3\/objects\/[^/]+\/search\/?$/.test(path)) {
      const window = searches.get(token) ?? new RollingWindow(limits.searchPerSecond, 1000, clock);
      searches.set(token, window);
      return window.tryTake() ? {} : { refuse: hubspotRateLimitFault(undefined, 'SECONDLY') };
    }
    if (!tenSecondly.tryTake()) return { refuse: { ...hubspotRateLimitFault(), headers: rateLimitHeaders(0, limits.tenSecondly) } };
    return { headers: rateLimitHeaders(tenSecondly.remaining, limits.tenSecondly) };
  };
}

/** Bodies below passed the official file's request schema before the route runs (the harness answers 400 otherwise). */
interface CreateBody {
  properties: Record<string, string>;
  associations: Array<{ to: { id: string }; types: Array<{ associationCategory: string; associationTypeId: number }> }>;
}

function registerRoutes(app: FastifyInstance, state: State): void {
  app.post('/crm/v3/objects/contacts/search', async (req) => search(state.contacts, req.body as SearchBody));
  app.post('/crm/v3/objects/calls/search', async (req) => search(indexed(state, state.calls), req.body as SearchBody));
  app.post('/crm/v3/objects/tasks/search', async (req) => search(indexed(state, state.tasks), req.body as SearchBody));

  app.get('/calling/v1/dispositions', async () => state.dispositions);

  app.get('/crm/v3/owners', async (req) => {
    const q = req.query as { email?: string; after?: string; limit?: string; archived?: string };
    const wanted = q.email?.toLowerCase();
    const matches = [...state.owners.values()].filter((o) => o.archived === (q.archived === 'true') && (!wanted || o.email.toLowerCase() === wanted));
    const offset = Number(q.after ?? 0) || 0;
    const limit = Number(q.limit ?? 100) || 100;
    const next = offset + limit < matches.length ? { paging: { next: { after: String(offset + limit) } } } : {};
    return { results: matches.slice(offset, offset + limit).map(ownerObject), ...next };
  });

  app.post('/crm/v3/objects/tasks', async (req, reply) => {
    const body = req.body as CreateBody;
    checkCallProperties(state, body.properties);
    checkUniqueCallKey(state.tasks, 'tasks', body.properties);
    const now = new Date().toISOString();
    const task: StoredObject = {
      id: state.newId(),
      properties: { ...body.properties, hs_createdate: now, hs_lastmodifieddate: now },
      createdAt: now,
      updatedAt: now,
      associations: [],
    };
    state.tasks.set(task.id, task);
    return reply.code(201).send(publicObject(task));
  });

  // Default (unlabelled) association, validated against crm-associations-v4.json. Repeating one changes nothing.
  app.put('/crm/v4/objects/:fromType/:fromId/associations/default/:toType/:toId', async (req) => {
    const { fromType, fromId, toType, toId } = req.params as { fromType: string; fromId: string; toType: string; toId: string };
    const from = objectsOf(state, fromType)?.get(fromId);
    const target = objectsOf(state, toType)?.get(toId);
    const typeId = DEFAULT_ASSOCIATION_TYPE[fromType]?.[toType];
    if (typeId === undefined) throw simError(400, hubspotError(400, `No default association from ${fromType} to ${toType} in this simulator`));
    if (!from || !target) throw simError(404, hubspotError(404, `No ${from ? toType : fromType} with id ${from ? toId : fromId}`));
    if (!from.associations.some((a) => toTypeOf(a) === toType && a.toId === toId)) from.associations.push({ toId, typeId, toType });
    const now = new Date().toISOString();
    return {
      status: 'COMPLETE',
      results: [{ from: { id: fromId }, to: { id: toId }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId } }],
      startedAt: now,
      completedAt: now,
    };
  });

  // An object's associations of one type: a deal lists its contacts; a contact, the deals naming it.
  app.get('/crm/v4/objects/:objectType/:objectId/associations/:toType', async (req) => {
    const { objectType, objectId, toType } = req.params as { objectType: string; objectId: string; toType: string };
    const object = objectsOf(state, objectType)?.get(objectId);
    if (!object) throw simError(404, hubspotError(404, `No ${objectType} with id ${objectId}`));
    const linked =
      objectType === 'contacts'
        ? [...(objectsOf(state, toType)?.values() ?? [])].filter((o) => o.associations.some((a) => toTypeOf(a) === 'contacts' && a.toId === objectId)).map((o) => ({ toId: o.id, typeId: DEFAULT_ASSOCIATION_TYPE[toType]?.contacts ?? 0 }))
        : object.associations.filter((a) => toTypeOf(a) === toType);
    return { results: linked.map((a) => ({ toObjectId: a.toId, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: a.typeId }] })) };
  });

  app.delete('/crm/v4/objects/:objectType/:objectId/associations/:toType/:toId', async (req, reply) => {
    const { objectType, objectId, toType, toId } = req.params as { objectType: string; objectId: string; toType: string; toId: string };
    const object = objectsOf(state, objectType)?.get(objectId);
    if (!object) throw simError(404, hubspotError(404, `No ${objectType} with id ${objectId}`));
    object.associations = object.associations.filter((a) => !(toTypeOf(a) === toType && a.toId === toId));
    return reply.code(204).send();
  });

  app.post('/crm/v3/objects/0-3/batch/read', async (req) => {
    const body = req.body as { inputs: Array<{ id: string }>; properties: string[] };
    const now = new Date().toISOString();
    const results = body.inputs.flatMap(({ id }) => {
      const deal = state.deals.get(id);
      return deal ? [publicObject(deal, body.properties)] : [];
    });
    return { status: 'COMPLETE', results, startedAt: now, completedAt: now };
  });

  app.post('/crm/v3/objects/contacts', async (req, reply) => {
    const body = req.body as CreateBody;
    checkCallProperties(state, body.properties);
    const now = new Date().toISOString();
    const contact: StoredObject = { id: state.newId(), properties: { ...body.properties, createdate: now, lastmodifieddate: now }, createdAt: now, updatedAt: now, associations: [] };
    state.contacts.set(contact.id, contact);
    return reply.code(201).send(publicObject(contact));
  });

  app.post('/crm/v3/objects/calls', async (req, reply) => {
    const body = req.body as CreateBody;
    checkCallProperties(state, body.properties);
    checkUniqueCallKey(state.calls, 'calls', body.properties);
    for (const a of body.associations) {
      if (!state.contacts.has(a.to.id)) throw simError(400, hubspotError(400, `Could not find contact with id ${a.to.id} to associate`));
      if (a.types.some((t) => t.associationTypeId !== 194)) throw simError(400, hubspotError(400, 'invalid association type for call -> contact'));
    }
    const now = new Date().toISOString();
    const call: StoredObject = {
      id: state.newId(),
      properties: { ...body.properties, hs_createdate: now, hs_lastmodifieddate: now },
      createdAt: now,
      updatedAt: now,
      associations: body.associations.map((a) => ({ toId: a.to.id, typeId: 194 })),
    };
    state.calls.set(call.id, call);
    return reply.code(201).send(publicObject(call));
  });

  app.get('/crm/v3/objects/calls/:callId', async (req) => {
    const call = state.calls.get((req.params as { callId: string }).callId);
    if (!call) throw simError(404, hubspotError(404, 'Object not found'));
    const query = req.query as { properties?: string; associations?: string | string[] };
    const wanted = query.properties?.split(',');
    // associations (explode: true) may come repeated or comma-separated; HubSpot leaves out types without any.
    const types = [query.associations ?? []].flat().flatMap((t) => t.split(','));
    const associations = Object.fromEntries(
      types
        .map((type) => [type, call.associations.filter((a) => toTypeOf(a) === type).map((a) => ({ id: a.toId, type: `call_to_${type.replace(/s$/, '')}` }))] as const)
        .filter(([, results]) => results.length > 0)
        .map(([type, results]) => [type, { results }]),
    );
    return { ...publicObject(call, wanted), ...(types.length > 0 && Object.keys(associations).length > 0 ? { associations } : {}) };
  });

  app.patch('/crm/v3/objects/calls/:callId', async (req) => {
    const call = state.calls.get((req.params as { callId: string }).callId);
    if (!call) throw simError(404, hubspotError(404, 'Object not found'));
    const { properties } = req.body as { properties: Record<string, string> };
    checkCallUpdate(state, properties);
    return publicObject(applyUpdate(state, call, properties));
  });

  // Batch update (BatchInputSimplePublicObjectBatchInput -> 200, or 207 with per-input errors).
  app.post('/crm/v3/objects/calls/batch/update', async (req, reply) => {
    const { inputs } = req.body as { inputs: Array<{ id: string; idProperty?: string; properties: Record<string, string> }> };
    checkBatchInputs(inputs);
    if (inputs.some((i) => i.idProperty !== undefined)) throw simError(400, hubspotError(400, 'idProperty is not simulated: inputs name calls by id'));
    const found = inputs.filter((i) => state.calls.has(i.id));
    // [U] A refused property value fails the whole batch here, nothing applied: the conservative reading (the
    // file documents 207 for per-input failures but not which ones qualify); only unknown ids are per input.
    for (const input of found) checkCallUpdate(state, input.properties);
    const results = found.map((i) => publicObject(applyUpdate(state, state.calls.get(i.id)!, i.properties)));
    return batchAnswer(reply, results, inputs.filter((i) => !state.calls.has(i.id)).map((i) => i.id));
  });

  // Batch read by id (BatchReadInputSimplePublicObjectId -> 200, or 207 naming the ids not found).
  app.post('/crm/v3/objects/calls/batch/read', async (req, reply) => {
    const body = req.body as { inputs: Array<{ id: string }>; properties: string[]; idProperty?: string };
    checkBatchInputs(body.inputs);
    if (body.idProperty !== undefined) throw simError(400, hubspotError(400, 'idProperty is not simulated: inputs name calls by id'));
    const results = body.inputs.flatMap(({ id }) => {
      const call = state.calls.get(id);
      return call ? [publicObject(call, body.properties)] : [];
    });
    return batchAnswer(reply, results, body.inputs.filter((i) => !state.calls.has(i.id)).map((i) => i.id));
  });

  app.post('/files/v3/files', async (req, reply) => {
    const form = req.body as Record<string, string | SimFile>;
    const file = form.file;
    if (!isSimFile(file)) throw simError(400, hubspotError(400, 'file is required'));
    if (!form.folderPath && !form.folderId) throw simError(400, hubspotError(400, "Either 'folderId' or 'folderPath' is required"));
    const fileName = typeof form.fileName === 'string' ? form.fileName : file.fileName;
    const dot = fileName.lastIndexOf('.');
    const stored: StoredFile = {
      id: state.newId(),
      name: dot > 0 ? fileName.slice(0, dot) : fileName,
      extension: dot > 0 ? fileName.slice(dot + 1) : '',
      path: String(form.folderPath ?? ''),
      data: file.data,
      contentType: file.contentType,
    };
    state.files.set(stored.id, stored);
    return reply.code(201).send(fileObject(stored));
  });

  app.get('/files/v3/files/search', async (req) => {
    const q = req.query as { name?: string; path?: string };
    const results = [...state.files.values()].filter(
      (f) => (!q.name || f.name.includes(q.name)) && (!q.path || f.path === q.path),
    );
    return { results: results.map(fileObject) };
  });
}

function objectsOf(state: State, type: string): Map<string, StoredObject> | undefined {
  return ({ calls: state.calls, tasks: state.tasks, contacts: state.contacts, deals: state.deals } as Record<string, Map<string, StoredObject>>)[type];
}

/**
 * The labels of a new portal's call outcomes (HubSpot's knowledge base, "create custom call and
 * meeting outcomes"); their GUIDs differ per simulator run, as real portals' ids are theirs.
 */
const DEFAULT_DISPOSITION_LABELS = ['Busy', 'Connected', 'Left live message', 'Left voicemail', 'No answer', 'Wrong number'];

/** hs_call_status values the calls guide documents (developers.hubspot.com, CRM calls). */
const CALL_STATUSES = new Set(['BUSY', 'CALLING_CRM_USER', 'CANCELED', 'COMPLETED', 'CONNECTING', 'FAILED', 'IN_PROGRESS', 'MISSED', 'NO_ANSWER', 'QUEUED', 'RINGING']);

function checkCallProperties(state: State, properties: Record<string, string>): void {
  const status = properties.hs_call_status;
  if (status !== undefined && !CALL_STATUSES.has(status)) {
    throw simError(400, hubspotError(400, `Property values were not valid: ${status} was not one of the allowed options for hs_call_status`));
  }
  const disposition = properties.hs_call_disposition;
  if (disposition !== undefined && disposition !== '' && !state.dispositions.some((d) => d.id === disposition)) {
    throw simError(400, hubspotError(400, `Property values were not valid: ${disposition} was not one of the allowed options for hs_call_disposition`));
  }
  if (!state.callKeyProperty && 'ringbridge_call_key' in properties) {
    throw simError(400, hubspotError(400, 'Property values were not valid: Property "ringbridge_call_key" does not exist'));
  }
  // hubspot_owner_id is an owner id from the owners API (a number); anything else is refused.
  // The wording follows HubSpot's "Property values were not valid" errors; the detail is unconfirmed.
  const owner = properties.hubspot_owner_id;
  if (owner !== undefined && owner !== '' && !state.owners.has(owner)) {
    const detail = /^\d+$/.test(owner) ? `${owner} is not a valid owner id` : `${owner} was not a valid number`;
    throw simError(400, hubspotError(400, `Property values were not valid: hubspot_owner_id: ${detail}`));
  }
}

/** A PATCH's properties: valid values, and attachments that are files of this portal. */
function checkCallUpdate(state: State, properties: Record<string, string>): void {
  checkCallProperties(state, properties);
  const attachments = properties.hs_attachment_ids?.split(';').filter(Boolean) ?? [];
  const missing = attachments.find((id) => !state.files.has(id));
  if (missing) throw simError(400, hubspotError(400, `File ${missing} does not exist`));
}

function applyUpdate(state: State, call: StoredObject, properties: Record<string, string>): StoredObject {
  const now = Date.now();
  if (state.searchLagMs > 0) {
    const recent = (call.earlier ?? []).filter((e) => e.until > now - state.searchLagMs);
    call.earlier = [...recent, { until: now, properties: { ...call.properties } }];
  }
  Object.assign(call.properties, properties);
  call.updatedAt = new Date().toISOString();
  return call;
}

/** HubSpot's CRM batch endpoints take at most 100 inputs (CRM objects guide, batch limits). */
const BATCH_LIMIT = 100;

/**
 * The checks of a whole batch before any input is applied. Duplicate ids: HubSpot's files and
 * reference pages do not document the answer; public integration reports (e.g. segmentio
 * action-destinations#3969) show HubSpot refusing a batch that names one record twice, so the
 * simulator refuses it whole (400), the conservative reading.
 */
function checkBatchInputs(inputs: Array<{ id: string }>): void {
  if (inputs.length > BATCH_LIMIT) throw simError(400, hubspotError(400, `Batch of ${inputs.length} inputs is over the limit of ${BATCH_LIMIT}`));
  const duplicate = inputs.find((input, i) => inputs.findIndex((other) => other.id === input.id) !== i);
  if (duplicate) throw simError(400, hubspotError(400, `Duplicate IDs found in batch input: [${duplicate.id}]`));
}

/**
 * 200 with the results, or 207 (BatchResponseSimplePublicObjectWithErrors) with one StandardError
 * naming the ids not found in `context.ids`: the shape HubSpot's own batch answers use for missing
 * objects (the file types `context` only as lists of strings; the key and wording are [U]).
 */
function batchAnswer(reply: FastifyReply, results: unknown[], missingIds: string[]) {
  const now = new Date().toISOString();
  const answer = { status: 'COMPLETE', results, startedAt: now, completedAt: now };
  if (missingIds.length === 0) return answer;
  const error = {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: 'Could not get some CALL objects, they may be deleted or not exist. Check that ids are valid.',
    context: { ids: missingIds },
    errors: [],
    links: {},
  };
  return reply.code(207).send({ ...answer, errors: [error], numErrors: 1 });
}

function ownerObject(o: HubSpotOwner) {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    id: o.id,
    email: o.email,
    ...(o.firstName ? { firstName: o.firstName } : {}),
    ...(o.lastName ? { lastName: o.lastName } : {}),
    type: 'PERSON',
    userId: Number(o.id),
    archived: o.archived,
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * `ringbridge_call_key` is created with hasUniqueValue (README "Portal setup"): HubSpot refuses a
 * second object with the same value whatever its search index shows. The 409 CONFLICT body is
 * our reading of HubSpot's Error schema; the exact wording is unconfirmed.
 */
function checkUniqueCallKey(store: Map<string, StoredObject>, object: string, properties: Record<string, string | undefined>): void {
  const key = properties.ringbridge_call_key;
  if (key === undefined) return;
  const existing = [...store.values()].find((o) => o.properties.ringbridge_call_key === key);
  if (existing) {
    throw simError(409, hubspotError(409, `A ${object} object with the value "${key}" for the unique property "ringbridge_call_key" already exists (id ${existing.id})`, 'CONFLICT'));
  }
}

/** What search can see: objects older than the simulated index lag, as they were that long ago. */
function indexed(state: State, store: Map<string, StoredObject>): Map<string, StoredObject> {
  if (state.searchLagMs <= 0) return store;
  const visibleBefore = Date.now() - state.searchLagMs;
  const asIndexed = (o: StoredObject): StoredObject => {
    const then = o.earlier?.find((e) => e.until > visibleBefore);
    return then ? { ...o, properties: then.properties } : o;
  };
  return new Map([...store].filter(([, o]) => Date.parse(o.createdAt) <= visibleBefore).map(([id, o]) => [id, asIndexed(o)]));
}

function search(store: Map<string, StoredObject>, body: SearchBody) {
  const matches = [...store.values()].filter(
    (o) => body.filterGroups.length === 0 || body.filterGroups.some((g) => g.filters.every((f) => matchesFilter(searchable(o, f.propertyName), f))),
  );
  for (const sort of [...body.sorts].reverse()) {
    const [prop, dir] = sort.startsWith('-') ? [sort.slice(1), -1] : [sort, 1];
    matches.sort((a, b) => dir * compare(a.properties[prop], b.properties[prop]));
  }
  const offset = Number(body.after) || 0;
  const page = matches.slice(offset, offset + body.limit);
  const next = offset + body.limit < matches.length ? { next: { after: String(offset + body.limit) } } : undefined;
  return { total: matches.length, results: page.map((o) => publicObject(o, body.properties)), ...(next ? { paging: next } : {}) };
}

/** A property search filters on; every object also has `hs_object_id`, its id (search guide: a default property). */
function searchable(o: StoredObject, name: string): string | undefined {
  return name === 'hs_object_id' ? o.id : o.properties[name];
}

function matchesFilter(value: string | undefined, f: Filter): boolean {
  switch (f.operator) {
    case 'EQ':
      return value !== undefined && value === f.value;
    case 'IN':
      return value !== undefined && (f.values ?? []).includes(value);
    case 'GTE':
      return value !== undefined && compare(value, f.value) >= 0;
    case 'GT':
      return value !== undefined && compare(value, f.value) > 0;
    case 'LTE':
      return value !== undefined && compare(value, f.value) <= 0;
    case 'LT':
      return value !== undefined && compare(value, f.value) < 0;
    case 'HAS_PROPERTY':
      return value !== undefined && value !== '';
    default:
      throw simError(400, hubspotError(400, `operator ${f.operator} not simulated`));
  }
}

/** Dates compare as instants whether given as ISO or epoch ms (HubSpot accepts both in filters). */
function compare(a: string | undefined, b: string | undefined): number {
  const asTime = (v: string | undefined) => (v === undefined ? NaN : /^\d+$/.test(v) ? Number(v) : Date.parse(v));
  const [ta, tb] = [asTime(a), asTime(b)];
  if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return String(a ?? '').localeCompare(String(b ?? ''));
}

function publicObject(o: StoredObject, wanted?: string[]) {
  // The spec types every property value as a string, so unset properties are left out.
  const properties = wanted ? Object.fromEntries(wanted.filter((p) => o.properties[p] !== undefined).map((p) => [p, o.properties[p]!])) : o.properties;
  return { id: o.id, properties, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: false };
}

function fileObject(f: StoredFile) {
  const now = new Date().toISOString();
  return { id: f.id, name: f.name, extension: f.extension, path: `${f.path}/${f.name}.${f.extension}`, size: f.data.length, type: 'AUDIO', access: 'PRIVATE', archived: false, createdAt: now, updatedAt: now };
}

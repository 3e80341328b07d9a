// HighLevel (LeadConnector) API v2 simulator for one location: contacts (phone matched in E.164
// like HighLevel's duplicate search), notes, conversations, Call messages of one Call
// conversation provider, file upload and message attachments; OAuth with a client secret.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { toE164 } from '../../../shared/phone.js';
import { isSimFile, simError, startCrmSimulator, type CrmSimulator, type RateLimitDecision } from '../common/index.js';
import { DAY_MS, RollingWindow } from '../common/rolling-window.js';
import { highLevelSpecWithOverlay } from './spec.js';

export interface HlContact {
  id: string;
  firstName?: string;
  lastName?: string;
  companyName?: string;
  phone?: string;
  assignedTo?: string;
  dateAdded: string;
  dateUpdated: string;
}

export interface HlMessage {
  id: string;
  conversationId: string;
  contactId: string;
  direction: 'inbound' | 'outbound';
  dateAdded: string;
  conversationProviderId: string;
  callStatus: string;
  body: string | undefined;
  attachments: string[];
}

export interface HlNote {
  id: string;
  contactId: string;
  body: string;
  userId?: string;
  dateAdded: string;
}

export interface HlTask {
  id: string;
  contactId: string;
  title: string;
  body?: string;
  dueDate: string;
  completed: boolean;
  assignedTo?: string;
}

/** A user of the company (users.json UserSchema); notes' userId and tasks' assignedTo take the id. */
export interface HlUser {
  id: string;
  name: string;
  email: string;
  deleted: boolean;
  roles: { type: string; role: string; locationIds: string[] };
}

export interface HighLevelSimulator extends CrmSimulator {
  readonly locationId: string;
  /** The company the location belongs to (token response `companyId`). */
  readonly companyId: string;
  /** The company's users; the first is the one who signs in (token response `userId`). */
  readonly users: HlUser[];
  addUser(fields: { name: string; email: string; deleted?: boolean }): HlUser;
  readonly conversationProviderId: string;
  readonly contacts: HlContact[];
  readonly conversations: { id: string; contactId: string }[];
  readonly messages: HlMessage[];
  readonly notes: HlNote[];
  readonly tasks: HlTask[];
  readonly uploads: { url: string; fileName: string; data: Buffer }[];
  addContact(fields: Omit<HlContact, 'id' | 'dateAdded' | 'dateUpdated'>, dateUpdated?: string): HlContact;
  /** Opportunities (opportunities.json); a contact's open ones are what the call panel offers. */
  readonly opportunities: HlOpportunity[];
  addOpportunity(fields: Omit<HlOpportunity, 'id' | 'createdAt'>): HlOpportunity;
}

export interface HlOpportunity {
  id: string;
  name: string;
  contactId: string;
  status: 'open' | 'won' | 'lost' | 'abandoned';
  pipelineStageId?: string;
  createdAt: string;
}

const LOCATION = 'sim-location-1';
const COMPANY = 'sim-company';
const PROVIDER = 'sim-call-provider-1';
const CLIENT_SECRET = 'sim-client-secret';
/** Each endpoint family's Version (the `Version` header enum in contacts.json / conversations.json). */
const VERSIONS: [RegExp, string][] = [
  [/^\/contacts\//, '2021-07-28'],
  [/^\/conversations\//, '2021-04-15'],
  [/^\/users\//, '2021-07-28'],
  [/^\/opportunities\//, '2021-07-28'],
];

/**
 * Per app and location: a burst of 100 requests per 10 seconds and 200,000 a day (HighLevel's rate
 * limits page, marketplace.gohighlevel.com/docs/other/rate-limits, and docs/oauth/Authorization.md FAQ).
 */
export const HIGHLEVEL_RATE_LIMITS = { burst: 100, intervalMs: 10_000, daily: 200_000 };

export interface HighLevelSimOptions {
  /** HighLevel's rate limits (default); `false` only for tests about something else that must burst. */
  rateLimits?: typeof HIGHLEVEL_RATE_LIMITS | false;
  /** Clock of the rate-limit windows (ms); tests pin it. */
  now?: () => number;
}

const hlError = (status: number, message: string) =>
  status === 401 ? { statusCode: 401, message: 'Invalid token: access token is invalid', error: 'Unauthorized' } : { statusCode: status, message };

export async function startHighLevelSimulator(options: HighLevelSimOptions = {}): Promise<HighLevelSimulator> {
  const spec = highLevelSpecWithOverlay();
  const contacts: HlContact[] = [];
  const conversations: { id: string; contactId: string }[] = [];
  const messages: HlMessage[] = [];
  const notes: HlNote[] = [];
  const tasks: HlTask[] = [];
  const opportunities: HlOpportunity[] = [];
  const uploads: HighLevelSimulator['uploads'] = [];
  let seq = 0;
  const newId = (prefix: string) => `${prefix}${String(++seq).padStart(16, '0')}`;
  let self = '';
  const users: HlUser[] = [];
  const addUser = ({ name, email, deleted = false }: { name: string; email: string; deleted?: boolean }): HlUser => {
    const user: HlUser = { id: newId('user'), name, email, deleted, roles: { type: 'account', role: 'user', locationIds: [LOCATION] } };
    users.push(user);
    return user;
  };
  const signedIn = addUser({ name: 'Sim Admin', email: 'admin@sim.example.com' });
  /**
   * A userId / assignedTo must be one of the location's users. What HighLevel answers for another
   * is not documented ([U]); the simulator refuses it with 422, its validation status.
   */
  const checkUser = (field: string, id: unknown) => {
    if (id === undefined || users.some((u) => u.id === id && !u.deleted && u.roles.locationIds.includes(LOCATION))) return;
    throw simError(422, { statusCode: 422, message: [`${field} must be a user of this location`], error: 'Unprocessable Entity' });
  };

  const limits = options.rateLimits === false ? null : (options.rateLimits ?? HIGHLEVEL_RATE_LIMITS);
  const sim = await startCrmSimulator({
    openapi: spec.files,
    rateLimit: limits ? rateLimiter(limits, options.now ?? Date.now) : undefined,
    oauth: {
      authorizePath: '/oauth/chooselocation',
      tokenPath: '/oauth/token',
      clientSecret: CLIENT_SECRET,
      accessTtlSec: 86_399,
      rotateRefreshTokens: true,
      tokenExtras: () => ({ scope: 'contacts.readonly conversations/message.write', userType: 'Location', locationId: LOCATION, companyId: COMPANY, userId: signedIn.id }),
    },
    errorBody: hlError,
    routes: (app, harness) => routes(app, harness),
  });
  self = sim.url;

  const contactById = (id: string) => {
    const c = contacts.find((x) => x.id === id);
    if (!c) throw simError(400, { statusCode: 400, message: 'Contact not found' });
    return c;
  };
  const samePhone = (stored: string | undefined, e164: string) => !!stored && toE164(stored, 'US') === e164;

  function routes(app: FastifyInstance, harness: CrmSimulator): void {
    app.addHook('preHandler', async (req: FastifyRequest) => {
      const path = req.url.split('?')[0]!;
      const expected = VERSIONS.find(([re]) => re.test(path))?.[1];
      if (expected && req.headers.version !== expected) {
        harness.recordViolation(`${req.method} ${path}: Version header ${String(req.headers.version)} (spec: ${expected})`);
        throw simError(400, { statusCode: 400, message: 'Version header is missing or invalid' });
      }
      const locationId = (req.query as Record<string, string>).locationId ?? (req.body as Record<string, unknown> | undefined)?.locationId;
      if (locationId !== undefined && locationId !== LOCATION) throw simError(403, { statusCode: 403, message: 'The token does not have access to this location' });
    });

    app.get('/contacts/search/duplicate', async (req) => {
      const number = toE164((req.query as Record<string, string>).number, 'US');
      const contact = number ? contacts.find((c) => samePhone(c.phone, number)) : undefined;
      return { contact: contact ? contactView(contact) : null };
    });

    // A new contact (CreateContactDto: locationId required). HighLevel refuses a second contact with
    // the same phone when the location does not allow duplicates (its default): modelled so.
    app.post('/contacts/', async (req, reply) => {
      const body = req.body as { phone?: string; firstName?: string; lastName?: string; assignedTo?: string };
      const e164 = body.phone === undefined ? null : toE164(body.phone, 'US');
      if (body.phone !== undefined && !e164) throw simError(422, { statusCode: 422, message: ['phone must be a valid phone number'], error: 'Unprocessable Entity' });
      if (e164 && contacts.some((c) => samePhone(c.phone, e164))) throw simError(400, { statusCode: 400, message: 'This location does not allow duplicated contacts.' });
      if (body.assignedTo !== undefined) checkUser('assignedTo', body.assignedTo);
      const { firstName, lastName, assignedTo } = body;
      const contact = addContact({ phone: body.phone, ...(firstName ? { firstName } : {}), ...(lastName ? { lastName } : {}), ...(assignedTo ? { assignedTo } : {}) });
      return reply.code(201).send({ contact: contactView(contact) });
    });

    app.get('/opportunities/search', async (req) => {
      const q = req.query as Record<string, string | undefined>;
      if (q.location_id !== LOCATION) throw simError(403, { statusCode: 403, message: 'The token does not have access to this location' });
      const found = opportunities.filter((o) => (!q.contact_id || o.contactId === q.contact_id) && (!q.status || q.status === 'all' || o.status === q.status));
      const limit = Number(q.limit ?? 20) || 20;
      return {
        opportunities: found.slice(0, limit).map((o) => ({ ...o, locationId: LOCATION, updatedAt: o.createdAt, contact: contactBrief(contactById(o.contactId)) })),
        meta: { total: found.length, currentPage: 1 },
      };
    });

    app.post('/contacts/upsert', async (req) => {
      const body = harness.parse(z.object({ locationId: z.string(), phone: z.string() }), req.body, 'upsert contact');
      const e164 = toE164(body.phone, 'US');
      if (!e164) throw simError(422, { statusCode: 422, message: ['phone must be a valid phone number'], error: 'Unprocessable Entity' });
      const existing = contacts.find((c) => samePhone(c.phone, e164));
      const contact = existing ?? addContact({ phone: e164 });
      return { new: !existing, contact: contactView(contact) };
    });

    app.post('/contacts/search', async (req) => {
      const body = harness.parse(
        z.object({
          locationId: z.string(),
          pageLimit: z.number().int().min(1).max(500),
          searchAfter: z.array(z.union([z.string(), z.number()])).optional(),
          filters: z.array(z.object({ field: z.literal('dateUpdated'), operator: z.literal('range'), value: z.object({ gt: z.string() }) })).optional(),
          sort: z.array(z.object({ field: z.literal('dateUpdated'), direction: z.literal('asc') })).optional(),
        }),
        req.body,
        'search contacts',
      );
      const gt = body.filters?.[0] ? Date.parse(body.filters[0].value.gt) : -Infinity;
      const key = (c: HlContact): [number, string] => [Date.parse(c.dateUpdated), c.id];
      const after = body.searchAfter as [number, string] | undefined;
      const sorted = contacts
        .filter((c) => Date.parse(c.dateUpdated) > gt)
        .sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1].localeCompare(key(b)[1]))
        .filter((c) => !after || key(c)[0] > after[0] || (key(c)[0] === after[0] && key(c)[1] > after[1]));
      return { contacts: sorted.slice(0, body.pageLimit).map((c) => ({ ...contactView(c), searchAfter: key(c) })), total: sorted.length };
    });

    // search-users (users.json): companyId required; `query` matches name, e-mail or phone
    // (substring, any case); skip/limit page it (limit default 25).
    app.get('/users/search', async (req) => {
      const q = req.query as Record<string, string | undefined>;
      if (q.companyId !== COMPANY) throw simError(403, { statusCode: 403, message: 'The token does not have access to this company' });
      const term = q.query?.toLowerCase() ?? '';
      const found = users.filter(
        (u) => (!q.locationId || u.roles.locationIds.includes(q.locationId)) && (!term || u.name.toLowerCase().includes(term) || u.email.toLowerCase().includes(term)),
      );
      const skip = Number(q.skip ?? 0);
      return { users: found.slice(skip, skip + Number(q.limit ?? 25)), count: found.length };
    });

    app.get('/contacts/:contactId/notes', async (req) => {
      const { contactId } = req.params as { contactId: string };
      contactById(contactId);
      return { notes: notes.filter((n) => n.contactId === contactId) };
    });

    app.post('/contacts/:contactId/notes', async (req, reply) => {
      const { contactId } = req.params as { contactId: string };
      contactById(contactId);
      const body = req.body as { body: string; userId?: string };
      checkUser('userId', body.userId);
      const note: HlNote = { id: newId('note'), contactId, body: body.body, userId: body.userId, dateAdded: new Date().toISOString() };
      notes.push(note);
      return reply.code(201).send({ note });
    });

    app.put('/contacts/:contactId/notes/:id', async (req) => {
      const { contactId, id } = req.params as { contactId: string; id: string };
      const note = notes.find((n) => n.id === id && n.contactId === contactId);
      if (!note) throw simError(400, { statusCode: 400, message: 'Note not found' });
      checkUser('userId', (req.body as Partial<HlNote>).userId);
      Object.assign(note, req.body as Partial<HlNote>);
      return { note };
    });

    app.get('/contacts/:contactId/tasks', async (req) => {
      const { contactId } = req.params as { contactId: string };
      contactById(contactId);
      return { tasks: tasks.filter((t) => t.contactId === contactId) };
    });

    // Body checked against CreateTaskParams (title, dueDate, completed required) by the spec validator.
    app.post('/contacts/:contactId/tasks', async (req, reply) => {
      const { contactId } = req.params as { contactId: string };
      contactById(contactId);
      const body = req.body as Omit<HlTask, 'id' | 'contactId'>;
      checkUser('assignedTo', body.assignedTo);
      if (Number.isNaN(Date.parse(body.dueDate))) throw simError(422, { statusCode: 422, message: ['dueDate must be a valid ISO 8601 date string'], error: 'Unprocessable Entity' });
      const task: HlTask = { ...body, id: newId('task'), contactId };
      tasks.push(task);
      return reply.code(201).send({ task });
    });

    app.get('/conversations/search', async (req) => {
      const { contactId } = req.query as { contactId?: string };
      const found = conversations.filter((c) => !contactId || c.contactId === contactId);
      return {
        conversations: found.map((c) => {
          const contact = contactById(c.contactId);
          const name = [contact.firstName, contact.lastName].filter(Boolean).join(' ');
          return { id: c.id, contactId: c.contactId, locationId: LOCATION, lastMessageBody: '', lastMessageType: 'TYPE_CALL', type: 'TYPE_PHONE', unreadCount: 0, fullName: name, contactName: name, email: '', phone: contact.phone ?? '' };
        }),
        total: found.length,
      };
    });

    app.post('/conversations/', async (req, reply) => {
      const { contactId } = req.body as { contactId: string };
      contactById(contactId);
      if (conversations.some((c) => c.contactId === contactId)) throw simError(400, { statusCode: 400, message: 'Conversation already exists' });
      const conversation = { id: newId('conv'), contactId };
      conversations.push(conversation);
      const now = new Date().toISOString();
      return reply.code(201).send({ success: true, conversation: { ...conversation, locationId: LOCATION, dateAdded: now, dateUpdated: now, lastMessageDate: now, deleted: false } });
    });

    const addCallMessage = (req: FastifyRequest, direction: 'inbound' | 'outbound') => {
      const body = req.body as { conversationId: string; contactId?: string; conversationProviderId: string; date?: string; message?: string; call?: { status?: string } };
      const conversation = conversations.find((c) => c.id === body.conversationId);
      if (!conversation) throw simError(400, { statusCode: 400, message: 'Conversation not found' });
      if (body.contactId && body.contactId !== conversation.contactId) throw simError(400, { statusCode: 400, message: 'Contact does not belong to the conversation' });
      if (body.conversationProviderId !== PROVIDER) throw simError(400, { statusCode: 400, message: 'Conversation provider not found' });
      const message: HlMessage = {
        id: newId('msg'),
        conversationId: conversation.id,
        contactId: conversation.contactId,
        direction,
        dateAdded: body.date ? new Date(body.date).toISOString() : new Date().toISOString(),
        conversationProviderId: PROVIDER,
        callStatus: body.call?.status ?? 'completed',
        body: body.message,
        attachments: [],
      };
      messages.push(message);
      return { success: true, conversationId: conversation.id, messageId: message.id, message: 'Message added', contactId: conversation.contactId, dateAdded: message.dateAdded };
    };
    app.post('/conversations/messages/inbound', async (req) => addCallMessage(req, 'inbound'));
    app.post('/conversations/messages/outbound', async (req) => addCallMessage(req, 'outbound'));

    app.get('/conversations/:conversationId/messages', async (req) => {
      const { conversationId } = req.params as { conversationId: string };
      const q = req.query as { limit?: string; lastMessageId?: string };
      const limit = Number(q.limit ?? 20);
      const all = messages.filter((m) => m.conversationId === conversationId).reverse(); // newest first
      const start = q.lastMessageId ? all.findIndex((m) => m.id === q.lastMessageId) + 1 : 0;
      const pageItems = all.slice(start, start + limit);
      return { lastMessageId: pageItems.at(-1)?.id ?? '', nextPage: start + limit < all.length, messages: pageItems.map(messageView) };
    });

    app.get('/conversations/messages/:id', async (req) => {
      const { id } = req.params as { id: string };
      const message = messages.find((m) => m.id === id);
      if (!message) throw simError(400, { statusCode: 400, message: 'Message not found' });
      return messageView(message);
    });

    app.post('/conversations/messages/upload', async (req) => {
      const body = req.body as Record<string, unknown>;
      const file = body.fileAttachment;
      if (!isSimFile(file)) throw simError(400, { statusCode: 400, message: 'fileAttachment is required' });
      if (!conversations.some((c) => c.id === body.conversationId && c.contactId === body.contactId)) {
        throw simError(400, { statusCode: 400, message: 'Conversation not found' });
      }
      const url = `${self}/files/${newId('file')}/${encodeURIComponent(file.fileName)}`;
      uploads.push({ url, fileName: file.fileName, data: file.data });
      return { uploadedFiles: { [file.fileName]: url } };
    });

    app.put('/conversations/messages/:messageId/attachments', async (req, reply) => {
      const { messageId } = req.params as { messageId: string };
      const message = messages.find((m) => m.id === messageId);
      if (!message) return reply.code(404).send();
      const { attachments } = req.body as { attachments: string[] };
      if (attachments.length > 5) throw simError(400, { statusCode: 400, message: 'Maximum 5 attachments' });
      message.attachments = [...attachments];
      return reply.code(200).send();
    });
  }

  function addContact(fields: Omit<HlContact, 'id' | 'dateAdded' | 'dateUpdated'>, dateUpdated = new Date().toISOString()): HlContact {
    const contact: HlContact = { ...fields, id: newId('ct'), dateAdded: dateUpdated, dateUpdated };
    contacts.push(contact);
    return contact;
  }

  const closeHarness = sim.close;
  return Object.assign(sim, {
    locationId: LOCATION,
    companyId: COMPANY,
    users,
    addUser,
    conversationProviderId: PROVIDER,
    contacts,
    conversations,
    messages,
    notes,
    tasks,
    uploads,
    addContact,
    opportunities,
    addOpportunity(fields: Omit<HlOpportunity, 'id' | 'createdAt'>) {
      const opportunity: HlOpportunity = { ...fields, id: newId('op'), createdAt: new Date().toISOString() };
      opportunities.push(opportunity);
      return opportunity;
    },
    close: async () => {
      await closeHarness();
      spec.dispose();
    },
  });
}

/** The documented X-RateLimit-* headers on every answer; past either window, 429. */
function rateLimiter(limits: typeof HIGHLEVEL_RATE_LIMITS, now: () => number): () => RateLimitDecision {
  const burst = new RollingWindow(limits.burst, limits.intervalMs, now);
  const daily = new RollingWindow(limits.daily, DAY_MS, now);
  return () => {
    const allowed = daily.remaining > 0 && burst.tryTake();
    if (allowed) daily.take(1);
    const headers = {
      'x-ratelimit-limit-daily': String(daily.limit),
      'x-ratelimit-daily-remaining': String(daily.remaining),
      'x-ratelimit-interval-milliseconds': String(limits.intervalMs),
      'x-ratelimit-max': String(burst.limit),
      'x-ratelimit-remaining': String(burst.remaining),
    };
    // The 429 body is undocumented: the Nest-style {statusCode, message} of the other error DTOs.
    return allowed ? { headers } : { headers, refuse: { status: 429, body: hlError(429, 'Too Many Requests') } };
  };
}

function contactBrief(c: HlContact) {
  const name = [c.firstName, c.lastName].filter(Boolean).join(' ');
  return { id: c.id, ...(name ? { name } : {}), ...(c.phone ? { phone: c.phone } : {}) };
}

function contactView(c: HlContact) {
  const name = [c.firstName, c.lastName].filter(Boolean).join(' ');
  return { ...c, locationId: LOCATION, ...(name ? { name } : {}) };
}

function messageView(m: HlMessage) {
  return {
    id: m.id,
    type: 1,
    messageType: 'TYPE_CALL',
    locationId: LOCATION,
    contactId: m.contactId,
    conversationId: m.conversationId,
    dateAdded: m.dateAdded,
    ...(m.body === undefined ? {} : { body: m.body }),
    direction: m.direction,
    contentType: 'text/plain',
    // conversations.json: "Attachments will be empty for Call and Voicemails" (recordings have their own API).
    attachments: [],
    meta: { callStatus: m.callStatus },
    conversationProviderId: m.conversationProviderId,
    source: 'api',
  };
}

// The 3CX CRM-integration template form. The PBX calls these while a call rings (lookup) and
// after it ends (journal), sending the per-PBX key from the generated template in X-Api-Key.
// Both become observations for the normaliser; the PBX is answered only after the append.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CallDirection } from '../../../shared/call-event.js';
import { pbxNumberToE164 } from '../../../shared/phone.js';
import { ProblemError } from '../../http/problem.js';
import { matchesAnySecret } from '../../tenants/secrets.js';
import type { Pbx } from '../../tenants/port.js';
import type { CallObservation } from '../observation.js';
import { ingestOrProblem, invalidRequest, resolvePbx, type IngestRoutesOptions } from '../routes-support.js';
import { JournalBodySchema, LookupQuerySchema, TEMPLATE_KEY_HEADER, type JournalBody, type LookupAnswer } from './wire.js';

export const LOOKUP_PATH = '/v1/pbx/:pbxId/3cx/lookup';
export const JOURNAL_PATH = '/v1/pbx/:pbxId/3cx/journal';
const MAX_JOURNAL_BODY_BYTES = 16 * 1024;
const EXTENSION = /^\d{1,16}$/;

/** Seconds ("75") or a clock duration ("00:01:15", "1:15"); empty = unknown. */
export function parseDuration(text: string | undefined): number | null | 'invalid' {
  if (text === undefined || text.trim() === '') return null;
  const t = text.trim();
  if (/^\d{1,9}$/.test(t)) return Number(t);
  const clock = /^(?:(\d{1,4}):)?([0-5]?\d):([0-5]\d)$/.exec(t);
  if (!clock) return 'invalid';
  return Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
}

function parseDirection(text: string | undefined, fallback: CallDirection): CallDirection | 'invalid' {
  if (text === undefined || text.trim() === '') return fallback;
  const d = text.trim().toLowerCase();
  return d === 'inbound' || d === 'outbound' || d === 'internal' ? d : 'invalid';
}

function parseTime(text: string | undefined): Date | null {
  const ms = text ? Date.parse(text) : NaN;
  return Number.isNaN(ms) ? null : new Date(ms);
}

/**
 * What tells one journal entry from another call's between the same number and agent: 3CX retries
 * an entry unchanged, while a second call differs in its times, duration or call type.
 */
function journalIdentity(body: JournalBody, direction: CallDirection, durationSec: number | null): string {
  return JSON.stringify([body.callType, direction, durationSec, body.startUtc ?? '', body.endUtc ?? '', body.dateTime ?? '']);
}

/** Who is who: the remote number on the far side, the agent's extension on ours. */
function parties(direction: CallDirection, number: string, name: string | null, agent: string | null) {
  const remote = { raw: number, name };
  const local = { raw: agent ?? '', name: null };
  return direction === 'inbound' ? { caller: remote, callee: local } : { caller: local, callee: remote };
}

function requireTemplateKey(request: FastifyRequest, keys: string[]): void {
  const presented = request.headers[TEMPLATE_KEY_HEADER];
  if (typeof presented !== 'string' || presented.length === 0 || !matchesAnySecret(presented, keys)) {
    throw new ProblemError(401, 'bad-credentials', 'Not authorised', 'The X-Api-Key header is missing or does not match this PBX\'s template key.');
  }
}

function badField(field: string, detail: string): ProblemError {
  return new ProblemError(400, 'invalid-request', 'Invalid request', `${field}: ${detail}`);
}

export const crmTemplateRoutes: FastifyPluginAsync<IngestRoutesOptions> = async (app, opts) => {
  const authorised = async (request: FastifyRequest): Promise<Pbx> => {
    const pbx = await resolvePbx(opts.tenants, request.params);
    requireTemplateKey(request, (await opts.tenants.pbxSecrets(pbx.id)).templateKeys);
    return pbx;
  };

  app.get(LOOKUP_PATH, async (request): Promise<LookupAnswer> => {
    const pbx = await authorised(request);
    const query = LookupQuerySchema.safeParse(request.query);
    if (!query.success) throw invalidRequest(query.error);
    // An unencoded "+61..." in the URL decodes to " 61...": put the plus back.
    const number = query.data.number.replace(/^ (?=\d)/, '+');
    const direction = parseDirection(query.data.direction, 'inbound');
    if (direction === 'invalid') throw badField('direction', 'expected Inbound or Outbound');
    const agent = query.data.agent || null;
    if (agent !== null && !EXTENSION.test(agent)) throw badField('agent', 'expected an extension number');

    const observation: CallObservation = {
      tenantId: pbx.tenantId,
      pbxId: pbx.id,
      source: 'crm-template',
      type: 'ringing',
      direction,
      pbxCallId: null,
      ...parties(direction, number, null, agent),
      extensions: agent ? [agent] : [],
      queue: null,
      agents: agent ? [agent] : [],
      pbxTime: new Date(),
      durationSec: null,
      recording: null,
    };
    await ingestOrProblem(opts.ingestor, observation);

    const e164 = pbxNumberToE164(number, pbx.defaultCountry);
    const contact = e164 ? await opts.contacts.findContact(pbx.tenantId, e164) : null;
    // 3CX drops a hit whose phone outputs do not contain the searched number, so echo it.
    return contact && e164 ? { contact: { ...contact, phone: e164 } } : {};
  });

  app.post(JOURNAL_PATH, { bodyLimit: MAX_JOURNAL_BODY_BYTES }, async (request) => {
    const pbx = await authorised(request);
    const parsed = JournalBodySchema.safeParse(request.body);
    if (!parsed.success) throw invalidRequest(parsed.error);
    const body: JournalBody = parsed.data;
    const durationSec = parseDuration(body.duration);
    if (durationSec === 'invalid') throw badField('duration', 'expected seconds or hh:mm:ss');
    const outboundType = body.callType === 'Outbound' || body.callType === 'Notanswered';
    const direction = parseDirection(body.direction, outboundType ? 'outbound' : 'inbound');
    if (direction === 'invalid') throw badField('direction', 'expected Inbound or Outbound');
    const queue = body.queue || null;
    if (queue !== null && !EXTENSION.test(queue)) throw badField('queue', 'expected a queue number');
    const endedAt = parseTime(body.endUtc);

    const observation: CallObservation = {
      tenantId: pbx.tenantId,
      pbxId: pbx.id,
      source: 'crm-template',
      type: body.callType === 'Missed' || body.callType === 'Notanswered' ? 'missed' : 'ended',
      direction,
      pbxCallId: null,
      ...parties(direction, body.number, body.name || null, body.agent),
      extensions: [body.agent],
      queue,
      agents: [body.agent],
      pbxTime: endedAt ?? parseTime(body.startUtc) ?? new Date(),
      durationSec,
      recording: null,
      journal: { identity: journalIdentity(body, direction, durationSec), endedAt },
    };
    const result = await ingestOrProblem(opts.ingestor, observation);
    return { eventId: result.eventId, duplicate: result.duplicate };
  });
};

// What the HTTP ingest forms share: resolving the PBX named in the path, turning the
// normaliser's refusals into problems, and describing zod failures without echoing input.
import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import { ProblemError } from '../http/problem.js';
import type { ContactCache } from '../tenants/contacts.js';
import type { Pbx, TenantStore } from '../tenants/port.js';
import { IngestError } from './normalise.js';
import type { CallObservation, IngestResult, Ingestor } from './observation.js';

export interface IngestRoutesOptions {
  ingestor: Ingestor;
  tenants: Pick<TenantStore, 'getPbx' | 'pbxSecrets'>;
  contacts: Pick<ContactCache, 'findContact'>;
  /** Where refusals are recorded (reason, PBX, sender address; never credentials). Defaults to the app logger. */
  logger?: FastifyBaseLogger;
}

const PBX_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The one answer for a PBX that is not registered (or not in the path's tenant). */
export const unknownPbx = () => new ProblemError(404, 'unknown-pbx', 'Unknown PBX', 'No PBX is registered at this URL.');

export async function resolvePbx(tenants: IngestRoutesOptions['tenants'], params: unknown): Promise<Pbx> {
  const pbxId = (params as { pbxId?: unknown } | undefined)?.pbxId;
  const pbx = typeof pbxId === 'string' && PBX_ID.test(pbxId) ? await tenants.getPbx(pbxId) : null;
  if (!pbx) throw unknownPbx();
  return pbx;
}

export async function ingestOrProblem(ingestor: Ingestor, observation: CallObservation): Promise<IngestResult> {
  try {
    return await ingestor.ingest(observation);
  } catch (err) {
    if (!(err instanceof IngestError)) throw err;
    switch (err.code) {
      case 'unknown-pbx':
        throw unknownPbx();
      case 'delivery-reused':
        throw new ProblemError(
          409,
          'delivery-id-reused',
          'Delivery id already used',
          'This webhook-id was already received with a different body for the same event; nothing was stored. A new event needs a new webhook-id.',
        );
      case 'invalid':
        throw new ProblemError(422, 'invalid-call', 'Call data not acceptable', err.message);
    }
  }
}

/** Names the offending fields and rules; never repeats the submitted values. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
}

export function invalidRequest(error: z.ZodError): ProblemError {
  return new ProblemError(400, 'invalid-request', 'Invalid request', describeIssues(error));
}

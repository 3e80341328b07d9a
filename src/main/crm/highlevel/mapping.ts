// Pure HighLevel mapping: contacts, the call message body, and the call note that carries what a
// Call message cannot (duration, outcome, notes, recording) plus our idempotency marker.
import type { CallLogInput, CrmContact } from '../port.js';
import type { Contact } from './wire.js';
import { callKeyTag } from '../compose.js';

// The note carries the shared tag: fixed length, no internal ids.
export { callKeyTag };

export type HlCallStatus = 'completed' | 'answered' | 'busy' | 'no-answer' | 'failed' | 'canceled' | 'voicemail' | 'pending';

/** call.status (CallDataDTO enum) for our outcome. */
export function callStatus({ outcome, status }: Pick<CallLogInput, 'outcome' | 'status'>): HlCallStatus {
  // The live record: the Call message is created when the agent answers, and stays 'answered'.
  if (status === 'in_progress') return 'answered';
  switch (outcome) {
    case 'answered':
      return 'completed';
    case 'missed':
    case 'no_answer':
      return 'no-answer';
    case 'busy':
      return 'busy';
    case 'failed':
      return 'failed';
  }
}

export function formatDuration(totalSec: number): string {
  const sec = Math.max(0, Math.round(totalSec));
  const h = Math.floor(sec / 3600);
  const mm = String(Math.floor((sec % 3600) / 60)).padStart(h > 0 ? 2 : 1, '0');
  const ss = String(sec % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const OUTCOME_TEXT: Record<CallLogInput['outcome'], string> = {
  answered: 'answered',
  missed: 'missed',
  no_answer: 'not answered',
  busy: 'busy',
  failed: 'failed',
};

/** One line a person reads: "Inbound call, answered, 1:35". Goes into inbound message bodies and notes. */
export function callSummary(input: CallLogInput): string {
  const dir = input.direction === 'inbound' ? 'Inbound' : 'Outbound';
  if (input.status === 'in_progress') return `${dir} call, in progress`;
  const talk = input.outcome === 'answered' ? `, ${formatDuration(input.durationSec)}` : '';
  return `${dir} call, ${OUTCOME_TEXT[input.outcome]}${talk}`;
}

const MARKER = /^ringbridge (rb-[0-9a-f]{40}) message (\S+)$/m;
const RECORDING = /^Recording: (\S+)$/m;

export interface CallNote {
  tag: string;
  messageId: string;
  recordingUrl: string | null;
}

export function noteBody(input: CallLogInput, messageId: string, recordingUrl: string | null): string {
  return [
    callSummary(input),
    `From ${input.from} to ${input.to}`,
    input.notes,
    // HighLevel has no link from a call or note to an opportunity: the note names it.
    input.deal ? `Opportunity: ${input.deal.name} [${input.deal.id}]` : '',
    recordingUrl ? `Recording: ${recordingUrl}` : '',
    `ringbridge ${callKeyTag(input.callKey)} message ${messageId}`,
  ]
    .filter((line) => line.length > 0)
    .join('\n');
}

export function readCallNote(body: string | null | undefined): CallNote | null {
  const marker = body ? MARKER.exec(body) : null;
  if (!marker) return null;
  return { tag: marker[1]!, messageId: marker[2]!, recordingUrl: RECORDING.exec(body!)?.[1] ?? null };
}

/** The line in a follow-up task's body that says which call it is for (a retry looks for it). */
export function followUpMarker(callKey: string): string {
  return `ringbridge ${callKeyTag(callKey)} follow-up`;
}

/** The note body with a recording line added (before the marker line). */
export function withRecording(body: string, url: string): string {
  const lines = body.split('\n').filter((line) => !RECORDING.test(line));
  lines.splice(lines.length - 1, 0, `Recording: ${url}`);
  return lines.join('\n');
}

export function toContact(c: Contact, url: string): CrmContact {
  const name = c.name?.trim() || c.contactName?.trim() || [c.firstName, c.lastName].filter(Boolean).join(' ').trim() || '(no name)';
  return {
    id: c.id,
    kind: 'contact',
    name,
    company: c.companyName ?? null,
    phones: c.phone ? [c.phone] : [],
    ownerId: c.assignedTo ?? null,
    lastActivityAt: typeof c.lastActivity === 'number' ? new Date(c.lastActivity).toISOString() : (c.lastActivity ?? null),
    url,
    updatedAt: c.dateUpdated ?? null,
  };
}

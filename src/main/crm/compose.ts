// The one place the call-log subject and notes are written, so every CRM reads the same.
// Adapters map the structured fields (direction, duration, outcome, owner) to their own fields;
// these texts are what a person reads on the activity. The trailing marker carries the callKey
// for CRMs whose only idempotency hook is a search over the note text.
import { createHash } from 'node:crypto';
import type { CallOutcome } from './port.js';
import type { CallDirection } from '../../shared/call-event.js';

export interface CallSummary {
  callKey: string;
  direction: CallDirection;
  /** Remote party as the CRM user should read it (E.164 or raw). */
  remoteNumber: string;
  remoteName: string | null;
  agentExtension: string;
  startedAt: string;
  answeredAt: string | null;
  durationSec: number;
  outcome: CallOutcome;
  queue: string | null;
  /** The live record of a call still on (no end, no duration yet). */
  inProgress?: boolean;
  /** What the agent typed; first in the notes, as a person reads it. */
  agentNotes?: string;
  /** The outcome label the agent picked. */
  disposition?: string | null;
  /** 3CX's own transcript and summary of the recording (V20), when it came with the recording. */
  transcript?: { transcription: string | null; summary: string | null } | null;
}

/** Every CRM's notes field takes this much transcript (HubSpot and Salesforce allow more; Zoho's Description less is [U]). */
export const MAX_TRANSCRIPT_CHARS = 20_000;

const OUTCOME_TEXT: Record<CallOutcome, string> = {
  answered: 'answered',
  missed: 'missed',
  no_answer: 'not answered',
  busy: 'busy',
  failed: 'failed',
};

/**
 * Call outcomes offered where the CRM keeps the outcome as free text (Salesforce CallDisposition)
 * or has no field for it (HighLevel, in the note): HubSpot's default dispositions, so agents of
 * every CRM pick from the same words.
 */
export const COMMON_DISPOSITIONS: ReadonlyArray<{ id: string; label: string }> = ['Connected', 'Left live message', 'Left voicemail', 'No answer', 'Busy', 'Wrong number'].map(
  (label) => ({ id: label, label }),
);

export function composeSubject(call: CallSummary): string {
  const who = call.remoteName ? `${call.remoteName} (${call.remoteNumber})` : call.remoteNumber;
  if (call.outcome === 'missed') return `Missed call from ${who}`;
  if (call.direction === 'inbound') return `Inbound call from ${who}`;
  if (call.direction === 'outbound') return `Outbound call to ${who}${call.outcome === 'answered' ? '' : ` (${OUTCOME_TEXT[call.outcome]})`}`;
  return `Internal call with ${who}`;
}

/** The follow-up task of a missed call: who to call back. */
export function composeFollowUpSubject(call: Pick<CallSummary, 'remoteNumber' | 'remoteName'>): string {
  return `Call back ${call.remoteName ? `${call.remoteName} (${call.remoteNumber})` : call.remoteNumber}`;
}

export function composeNotes(call: CallSummary): string {
  const typed = call.agentNotes?.trim() ?? '';
  const lines = [
    ...(typed ? [typed, ''] : []),
    ...(call.disposition ? [`Call outcome: ${call.disposition}`] : []),
    `Direction: ${call.direction}`,
    `${call.direction === 'inbound' ? 'Caller' : 'Called'}: ${call.remoteName ? `${call.remoteName}, ` : ''}${call.remoteNumber}`,
    `Agent extension: ${call.agentExtension}`,
    ...(call.queue ? [`Queue: ${call.queue}`] : []),
    `Started: ${call.startedAt}`,
    `Outcome: ${call.inProgress ? 'in progress' : OUTCOME_TEXT[call.outcome]}`,
    ...(call.answeredAt ? [`Answered: ${call.answeredAt}`] : []),
    // The CRM template reports a talk time without an answer time: the duration still belongs here.
    ...(call.outcome === 'answered' && !call.inProgress ? [`Duration: ${formatDuration(call.durationSec)}`] : []),
    ...transcriptLines(call.transcript),
    '',
    callKeyMarker(call.callKey),
  ];
  return lines.join('\n');
}

/** The summary, then the transcript (shortened to what every CRM's notes field holds). */
function transcriptLines(text: CallSummary['transcript']): string[] {
  if (!text) return [];
  const transcription = text.transcription && text.transcription.length > MAX_TRANSCRIPT_CHARS ? `${text.transcription.slice(0, MAX_TRANSCRIPT_CHARS)} … (shortened)` : text.transcription;
  return [...(text.summary ? ['', `Summary (3CX): ${text.summary}`] : []), ...(transcription ? ['', 'Transcript (3CX):', transcription] : [])];
}

/** `[ringbridge:<callKey>]`, the searchable idempotency marker. */
export function callKeyMarker(callKey: string): string {
  return `[ringbridge:${callKey}]`;
}

/**
 * `rb-` + 40 hex of sha256(callKey): the callKey as a CRM field or note stores it when the raw key
 * will not do (fixed length, no internal ids, free of search metacharacters). Zoho and HighLevel.
 */
export function callKeyTag(callKey: string): string {
  return `rb-${createHash('sha256').update(callKey).digest('hex').slice(0, 40)}`;
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mmss = `${m}m ${String(s).padStart(2, '0')}s`;
  return h > 0 ? `${h}h ${mmss}` : mmss;
}

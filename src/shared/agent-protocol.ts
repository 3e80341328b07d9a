// The WebSocket frames between the bus and an agent. Both sides parse every frame with these
// schemas; anything that does not parse gets an `error` frame and the loop goes on.
import { z } from 'zod';
import { CallEventSchema } from './call-event.js';

export const AGENT_PROTOCOL_VERSION = 1 as const;
export const AGENT_WS_PATH = '/v1/agent/ws';
/** Largest frame either side accepts. */
export const MAX_FRAME_BYTES = 64 * 1024;
const utf8Bytes = new TextEncoder();

/** A position in a tenant's log. The epoch changes when the log is recreated, so offsets never lie. */
export const PositionSchema = z.object({
  offset: z.number().int().nonnegative(),
  epoch: z.string().min(1).max(64),
});
export type Position = z.infer<typeof PositionSchema>;

const ReqId = z.string().min(1).max(64);

// ---- agent -> bus ----
export const HelloFrame = z.object({
  t: z.literal('hello'),
  v: z.literal(AGENT_PROTOCOL_VERSION),
  /** The device credential issued at pairing. */
  token: z.string().min(16).max(512),
  /** Where to resume from; omitted on first connect (start from the live top). */
  resume: PositionSchema.optional(),
});
export const AckFrame = z.object({ t: z.literal('ack'), offset: z.number().int().nonnegative() });
export const DialFrame = z.object({ t: z.literal('dial'), reqId: ReqId, number: z.string().min(1).max(64) });
export const RecordingRequestFrame = z.object({
  t: z.literal('recording'),
  reqId: ReqId,
  /** The `CallEvent.id` of the recording_ready event. */
  eventId: z.string().min(1).max(200),
});
export const PingFrame = z.object({ t: z.literal('ping') });
/** What an agent can do to a call of its own extension (3CX Call Control has no hold/resume). */
export const CallActionSchema = z.enum(['answer', 'hangup', 'transfer']);
export type CallAction = z.infer<typeof CallActionSchema>;
/** 3CX's own call id, as Call Control names a call: digits only. */
export const ThreeCxCallIdSchema = z.string().regex(/^\d{1,19}$/);
export const CallControlFrame = z.object({
  t: z.literal('call_control'),
  reqId: ReqId,
  /** The call's 3CX call id (the part of `CallEvent.pbxCallId` before any `@`), never a participant id or a path. */
  pbxCallId: ThreeCxCallIdSchema,
  action: CallActionSchema,
  /** For transfer: an extension or a phone number. */
  destination: z.string().min(1).max(64).optional(),
});
/** Reads the agent's 3CX status; with `dnd`, switches Do Not Disturb on or off first. */
export const PresenceRequestFrame = z.object({ t: z.literal('presence'), reqId: ReqId, dnd: z.boolean().optional() });

export const ClientFrameSchema = z.discriminatedUnion('t', [HelloFrame, AckFrame, DialFrame, RecordingRequestFrame, PingFrame, CallControlFrame, PresenceRequestFrame]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

// ---- bus -> agent ----
/** The tenant's policy for a caller the CRM does not know: never create, the agent creates (default), or create at once. */
export const CreateRecordPolicySchema = z.enum(['off', 'ask', 'auto']);
export type CreateRecordPolicy = z.infer<typeof CreateRecordPolicySchema>;
/** Tenant settings the agent applies; absent from a bus that predates them (the agent keeps its defaults). */
export const AgentPolicySchema = z.object({ createRecord: CreateRecordPolicySchema });
export type AgentPolicy = z.infer<typeof AgentPolicySchema>;
/** Until the tenant sets otherwise: the agent is asked before a record is made for a new caller. */
export const DEFAULT_AGENT_POLICY: AgentPolicy = { createRecord: 'ask' };

export const WelcomeFrame = z.object({
  t: z.literal('welcome'),
  agentId: z.string(),
  tenantId: z.string(),
  extension: z.string(),
  /** Current top of the tenant log. */
  position: PositionSchema,
  /** True when the resume position was honoured and every missed event follows; false means resync. */
  recovered: z.boolean(),
  policy: AgentPolicySchema.optional(),
});
export const EventFrame = z.object({
  t: z.literal('event'),
  offset: z.number().int().positive(),
  epoch: z.string(),
  /** True while catching up from history; false for live events. */
  replay: z.boolean(),
  event: CallEventSchema,
});
/** Resume was impossible (past retention or another epoch): drop local state, start from `position`. */
export const ResyncFrame = z.object({
  t: z.literal('resync'),
  reason: z.enum(['retention', 'epoch']),
  position: PositionSchema,
});
export const DialResultFrame = z.object({
  t: z.literal('dial_result'),
  reqId: ReqId,
  ok: z.boolean(),
  e164: z.string().nullable(),
  pbxCallId: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
/** Bytes a string takes inside a JSON frame: UTF-8 with JSON's escapes (a control character costs 6). */
export function frameBytes(text: string): number {
  return utf8Bytes.encode(JSON.stringify(text)).length - 2;
}
/**
 * Budgets for 3CX's transcript and summary in one recording_url frame, in frame bytes: with the
 * URL (at most MAX_RECORDING_URL_CHARS) the frame stays under MAX_FRAME_BYTES whatever the script,
 * since a bigger frame closes the agent's socket and the outbox's retry closes it again. An hour
 * of talk is longer; the CRM notes keep only 20,000 characters of it anyway (compose.ts).
 */
export const MAX_TRANSCRIPTION_BYTES = 40_000;
export const MAX_SUMMARY_BYTES = 8_000;
const MAX_RECORDING_URL_CHARS = 2048;
const SHORTENED = ' … (shortened)';

/** `text` cut to at most `budget` frame bytes, on a whole character, marked when cut. */
export function cutToFrameBytes(text: string, budget: number): string {
  if (frameBytes(text) <= budget) return text;
  const room = budget - frameBytes(SHORTENED);
  // Longest prefix that fits (every UTF-16 unit costs at least a byte, so never more than `room` units).
  let fits = 0;
  let over = Math.min(text.length, room) + 1;
  while (over - fits > 1) {
    const mid = (fits + over) >> 1;
    if (frameBytes(text.slice(0, mid)) <= room) fits = mid;
    else over = mid;
  }
  if (fits > 0 && /[\uD800-\uDBFF]/.test(text[fits - 1]!)) fits--;
  return `${text.slice(0, fits)}${SHORTENED}`;
}
const FrameText = (maxBytes: number) => z.string().max(maxBytes).refine((text) => frameBytes(text) <= maxBytes, `at most ${maxBytes} bytes`);

export const RecordingUrlFrame = z.object({
  t: z.literal('recording_url'),
  reqId: ReqId,
  /** Short-lived, single-agent URL to GET the audio from the bus (streamed from 3CX). */
  url: z.string().url().max(MAX_RECORDING_URL_CHARS),
  expiresAt: z.string().datetime({ offset: true }),
  /** 3CX's own transcript and summary of the recording (V20 XAPI), when the PBX made them. */
  transcription: FrameText(MAX_TRANSCRIPTION_BYTES).nullish(),
  summary: FrameText(MAX_SUMMARY_BYTES).nullish(),
});
export const PongFrame = z.object({ t: z.literal('pong') });
const ActionError = (codes: [string, ...string[]]) => z.object({ code: z.enum(codes), message: z.string() });
export const CallControlResultFrame = z.object({
  t: z.literal('call_control_result'),
  reqId: ReqId,
  ok: z.boolean(),
  /** not_found: the call is not on this agent's extension; call_state: not possible now (answering a talking call). */
  error: ActionError(['not_found', 'call_state', 'invalid_number', 'dial_policy', 'pbx_error', 'rate_limited']).nullable(),
});
/** The agent's 3CX status: the profile by name, and whether it is the Do Not Disturb one. */
export const PresenceSchema = z.object({
  profile: z.string().max(100),
  dnd: z.boolean(),
  profiles: z.array(z.string().max(100)).max(20),
  queueStatus: z.enum(['LoggedIn', 'LoggedOut']).nullable(),
  /** The PBX's queues (number -> name), so a queue call's pop names its queue. */
  queues: z.array(z.object({ number: z.string().max(16), name: z.string().max(100) })).max(200).optional(),
});
export type Presence = z.infer<typeof PresenceSchema>;
export const PresenceResultFrame = z.object({
  t: z.literal('presence_result'),
  reqId: ReqId,
  presence: PresenceSchema.nullable(),
  error: ActionError(['pbx_error', 'rate_limited']).nullable(),
});

export const ErrorCode = z.enum([
  'bad_frame',
  'unauthenticated',
  'revoked',
  'forbidden',
  'not_found',
  'invalid_number',
  'dial_policy',
  'pbx_error',
  'rate_limited',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;
export const ErrorFrame = z.object({
  t: z.literal('error'),
  code: ErrorCode,
  message: z.string(),
  reqId: ReqId.optional(),
});

export const ServerFrameSchema = z.discriminatedUnion('t', [
  WelcomeFrame,
  EventFrame,
  ResyncFrame,
  DialResultFrame,
  RecordingUrlFrame,
  PongFrame,
  ErrorFrame,
  CallControlResultFrame,
  PresenceResultFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;

/**
 * WebSocket close codes. 4000-4099: the client should reconnect (with backoff and resume);
 * 4100-4199: terminal, reconnecting with the same credential cannot help.
 */
export const CloseCode = {
  shutdown: 4000,
  slowConsumer: 4001,
  heartbeatTimeout: 4002,
  authTimeout: 4003,
  /** The socket sent frames faster than its budget allows; reconnecting (after backoff) resumes. */
  rateLimited: 4004,
  unauthenticated: 4100,
  revoked: 4101,
  protocolVersion: 4102,
  /** Newer connections of the same device token took this one's place; reconnecting would evict them in turn. */
  replaced: 4103,
} as const;

export function isTerminalClose(code: number): boolean {
  return code >= 4100 && code < 4200;
}

const utf8 = new TextDecoder();

/** Parses a raw frame; returns a result instead of throwing so socket loops never die on input. */
/** A frame that did not parse still names its request when it can, so the refusal settles that request. */
function reqIdOf(json: unknown): { reqId?: string } {
  const reqId = ReqId.safeParse((json as { reqId?: unknown } | null)?.reqId);
  return reqId.success ? { reqId: reqId.data } : {};
}

export function parseFrame<T>(schema: z.ZodType<T>, raw: string | Uint8Array): { ok: true; frame: T } | { ok: false; message: string; reqId?: string } {
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : utf8.decode(raw));
  } catch {
    return { ok: false, message: 'frame is not JSON' };
  }
  const result = schema.safeParse(json);
  if (!result.success) return { ok: false, message: z.prettifyError(result.error), ...reqIdOf(json) };
  return { ok: true, frame: result.data };
}

// What the bus and a remote connector (beside a PBX the bus cannot reach) exchange so the bus's
// makecall and recording downloads run on the connector, the PBX's only token owner. The connector
// only ever dials out: it collects commands with a long poll, answers each with a POST, and uploads
// a recording as the body of a POST, which the bus pipes straight to the agent downloading it.
//   GET  {connector}/commands?waitSec=25       -> CommandBatch (empty when none came in the wait)
//   POST {connector}/commands/{id}/answer      <- RelayAnswer (JSON)
//   POST {connector}/commands/{id}/recording   <- the audio, content-type audio/* (streamed)
import { z } from 'zod';

export const MAX_COMMANDS_PER_POLL = 16;
/** Longest a poll is held open; the connector asks for less, under common proxy idle timeouts. */
export const MAX_POLL_WAIT_SEC = 30;
export const MAX_ANSWER_BYTES = 8 * 1024;

/** The bus's random command id; the connector's answer and upload URLs carry it. */
export const CommandId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);

const MakeCallCommandSchema = z.object({
  id: CommandId,
  kind: z.literal('makecall'),
  extension: z.string().min(1).max(16),
  destination: z.string().regex(/^\+[1-9]\d{1,14}$/),
});

const RecordingCommandSchema = z.object({
  id: CommandId,
  kind: z.literal('recording'),
  recordingId: z.string().min(1).max(32),
  /** The bus relays no more than this; a larger recording is refused before a byte is sent. */
  maxBytes: z.number().int().positive(),
});

export const RelayCommandSchema = z.discriminatedUnion('kind', [MakeCallCommandSchema, RecordingCommandSchema]);
export type RelayCommand = z.infer<typeof RelayCommandSchema>;
/** A command as the bus creates it, before it has an id. */
export type RelayRequest = Omit<z.infer<typeof MakeCallCommandSchema>, 'id'> | Omit<z.infer<typeof RecordingCommandSchema>, 'id'>;

export const CommandBatchSchema = z.object({ commands: z.array(RelayCommandSchema).max(MAX_COMMANDS_PER_POLL) });

export const RelayAnswerSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('makecall'), ok: z.boolean(), pbxCallId: z.string().max(128).nullable(), reason: z.string().max(500).nullable() }),
  /** The PBX (or the connector) could not do it; `status` is the PBX's HTTP status when it answered. */
  z.object({ kind: z.literal('failed'), status: z.number().int().min(100).max(599).nullable(), message: z.string().max(1000) }),
]);
export type RelayAnswer = z.infer<typeof RelayAnswerSchema>;

/** Content types a relayed recording may carry to the agent (never markup or script). */
export const RECORDING_CONTENT_TYPE = /^(audio\/[\w.+-]{1,64}|application\/octet-stream)$/i;

export const connectorCommandsPath = (pbxId: string) => `/v1/pbx/${encodeURIComponent(pbxId)}/connector/commands`;

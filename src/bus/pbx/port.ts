// Everything the bus asks of a 3CX PBX beyond events: placing calls and fetching recordings.
import type { Readable } from 'node:stream';

export interface MakeCallResult {
  ok: boolean;
  pbxCallId: string | null;
  /** The PBX's own reason text on failure. */
  reason: string | null;
}

export interface RecordingStream {
  body: Readable;
  contentType: string;
  contentLength: number | null;
}

/** What an agent may do to a call on its own extension (3CX Call Control has no hold: NOTES 2.1). */
export type CallAction = 'answer' | 'hangup' | 'transfer';

export type ControlResult =
  | { ok: true }
  /** no_call: no participant of that call on the extension; wrong_state: e.g. answering a call already talking. */
  | { ok: false; reason: 'no_call' | 'wrong_state' | 'refused'; message: string };

/** The extension's 3CX status (XAPI `Users`: `CurrentProfileName`, `QueueStatus`). */
export interface PbxPresence {
  profile: string;
  /** The current profile is the PBX's Do Not Disturb one. */
  dnd: boolean;
  /** The profiles the user can switch to (`ForwardingProfiles[].Name`). */
  profiles: string[];
  queueStatus: 'LoggedIn' | 'LoggedOut' | null;
  /** The PBX's queues by number and name, so a queue call's pop can name its queue. */
  queues: Array<{ number: string; name: string }>;
}

/** 3CX's own transcript and summary of a recording (V20 XAPI `Recordings`), when it made them. */
export interface RecordingText {
  transcription: string | null;
  summary: string | null;
}

export interface PbxGateway {
  /** Places a call from the extension (its registered device first) to an E.164 number. */
  makeCall(pbxId: string, extension: string, destination: string): Promise<MakeCallResult>;
  /** Streams a recording from XAPI; never buffers the whole file. */
  openRecording(pbxId: string, pbxRecordingId: string): Promise<RecordingStream>;
  /**
   * The recording's transcript and summary from its XAPI row; null when the PBX has neither (or the
   * row is gone). Absent where the PBX is not reached directly (a remote connector relays no text yet).
   */
  recordingText?(pbxId: string, pbxRecordingId: string): Promise<RecordingText | null>;
  /**
   * Acts on the extension's own participant of the call (found on the extension's DN by call id,
   * never named by the caller); `destination` (an extension or E.164) for transfer.
   */
  controlCall(pbxId: string, extension: string, pbxCallId: string, action: CallAction, destination: string | null): Promise<ControlResult>;
  /** The extension's status; with `dnd` set, switches to (or away from) its DND profile first. */
  presence(pbxId: string, extension: string, dnd?: boolean): Promise<PbxPresence>;
  /** Whether the number is one of the PBX's extensions (XAPI `Users`) or queues (`Queues`); cached per PBX. */
  isInternalNumber(pbxId: string, number: string): Promise<boolean>;
}

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

export interface PbxGateway {
  /** Places a call from the extension (its registered device first) to an E.164 number. */
  makeCall(pbxId: string, extension: string, destination: string): Promise<MakeCallResult>;
  /** Streams a recording from XAPI; never buffers the whole file. */
  openRecording(pbxId: string, pbxRecordingId: string): Promise<RecordingStream>;
}

// Getting the recording bytes: a short-lived URL from the bus (which checks the call is ours),
// then a plain HTTP GET with undici. Failures say whether retrying can help; an abort (the app
// quitting) ends the fetch at once with the abort reason.
import { request } from 'undici';
import { currentAbortSignal, untilAborted } from '../crm/abort.js';

/** The bus client's side of recording mediation. */
export interface RecordingSource {
  /** A short-lived URL for the recording of this recording_ready event (BusClient.requestRecording). */
  requestRecording(eventId: string): Promise<{ url: string; transcription?: string | null; summary?: string | null }>;
}

/** 3CX's own transcript and summary of a recording (V20), as the bus read them from its XAPI row. */
export interface RecordingText {
  transcription: string | null;
  summary: string | null;
}

export class RecordingUnavailable extends Error {
  constructor(
    message: string,
    /** False when retrying cannot help (forbidden, gone, too large). */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'RecordingUnavailable';
  }
}

const MAX_RECORDING_BYTES = 200 * 1024 * 1024;
const FINAL_BUS_CODES = new Set(['forbidden', 'not_found']);

export async function fetchRecording(
  source: RecordingSource,
  eventId: string,
  signal: AbortSignal | undefined = currentAbortSignal(),
  timeoutMs = 60_000,
): Promise<{ data: Uint8Array; contentType: string | null; text: RecordingText | null }> {
  let url: string;
  let text: RecordingText | null;
  try {
    const granted = await untilAborted(source.requestRecording(eventId), signal);
    url = granted.url;
    const transcription = granted.transcription || null;
    const summary = granted.summary || null;
    text = transcription || summary ? { transcription, summary } : null;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const code = (error as { code?: unknown }).code;
    const final = typeof code === 'string' && FINAL_BUS_CODES.has(code);
    throw new RecordingUnavailable(`the bus did not hand out the recording: ${(error as Error).message}`, !final);
  }
  let response;
  try {
    response = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new RecordingUnavailable(`recording download failed: ${(error as Error).message}`, true);
  }
  if (response.statusCode !== 200) {
    await response.body.dump();
    // 403/404 from the bus are final; an expired URL (410/401) or a 5xx is simply fetched anew.
    const final = response.statusCode === 403 || response.statusCode === 404;
    throw new RecordingUnavailable(`recording download answered HTTP ${response.statusCode}`, !final);
  }
  const length = Number(response.headers['content-length'] ?? 0);
  if (length > MAX_RECORDING_BYTES) {
    await response.body.dump();
    throw new RecordingUnavailable(`recording is larger than ${MAX_RECORDING_BYTES} bytes`, false);
  }
  const data = new Uint8Array(await response.body.arrayBuffer());
  const type = response.headers['content-type'];
  return { data, contentType: typeof type === 'string' ? type.split(';')[0]!.trim() : null, text };
}

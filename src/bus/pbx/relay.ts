// The via-connector PbxGateway, for a PBX in remote mode: the bus never calls that PBX. It queues a
// command for the PBX's connector, which collects it over its own outbound long poll, runs it on
// the LAN as the client id's only token owner, and answers, or uploads the recording, which is piped
// to the agent as it arrives. Every failure is a PbxApiError, as when a PBX answers the bus itself,
// so dialling and downloads map it to the same problems and audit it the same way.
import { randomBytes } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { PbxApiError } from './errors.js';
import type { MakeCallResult, PbxGateway, RecordingStream } from './port.js';
import { MAX_COMMANDS_PER_POLL, RelayCommandSchema, type RelayAnswer, type RelayCommand, type RelayRequest } from './relay-wire.js';

export interface ConnectorRelayOptions {
  /** A command no connector collected by then fails at once: the connector is not running. Default 5 s. */
  pickupTimeoutMs?: number;
  /** From collection to the answer (the makecall result, or the start of a recording's upload). Default 20 s. */
  answerTimeoutMs?: number;
  /** Largest recording relayed. Default 256 MiB. */
  maxRecordingBytes?: number;
}

export type AnswerOutcome = 'accepted' | 'unknown' | 'mismatch';
export type UploadOutcome = 'relayed' | 'unknown' | 'too-large' | 'aborted';

export interface RecordingUpload {
  body: Readable;
  contentType: string;
  contentLength: number | null;
}

export interface ConnectorRelay extends PbxGateway {
  /** Commands for the PBX's connector: those waiting, else the first to come within `waitMs`, else none. */
  collect(pbxId: string, waitMs: number, signal: AbortSignal): Promise<RelayCommand[]>;
  /** The connector's answer to a command it collected; 'unknown' once answered or timed out. */
  answer(pbxId: string, commandId: string, answer: RelayAnswer): AnswerOutcome;
  /** Relays an uploaded recording to whoever asked for it; resolves when the last byte went on, or it stopped. */
  upload(pbxId: string, commandId: string, upload: RecordingUpload): Promise<UploadOutcome>;
}

type Reply = { kind: 'answer'; answer: RelayAnswer } | { kind: 'upload'; recording: RecordingStream };

interface Pending {
  pbxId: string;
  command: RelayCommand;
  collected: boolean;
  timer: NodeJS.Timeout;
  settle(reply: Reply): void;
  fail(err: PbxApiError): void;
}

const tooLarge = (maxBytes: number) => new PbxApiError(`the recording is larger than the ${maxBytes} bytes the bus relays`, 413);

export function createConnectorRelay(opts: ConnectorRelayOptions = {}): ConnectorRelay {
  const pickupTimeoutMs = opts.pickupTimeoutMs ?? 5_000;
  const answerTimeoutMs = opts.answerTimeoutMs ?? 20_000;
  const maxRecordingBytes = opts.maxRecordingBytes ?? 256 * 1024 * 1024;
  const pending = new Map<string, Pending>();
  /** Per PBX: commands no poll has taken yet, oldest first. */
  const queued = new Map<string, Pending[]>();
  /** Per PBX: open polls waiting for a command. */
  const polls = new Map<string, Array<(commands: RelayCommand[]) => void>>();

  const without = <T>(map: Map<string, T[]>, key: string, item: T) => {
    const list = map.get(key)?.filter((x) => x !== item) ?? [];
    if (list.length > 0) map.set(key, list);
    else map.delete(key);
  };

  function hand(entries: Pending[]): RelayCommand[] {
    for (const entry of entries) {
      entry.collected = true;
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => entry.fail(new PbxApiError(`the connector of PBX ${entry.pbxId} did not answer the ${entry.command.kind} request within ${answerTimeoutMs} ms`, null)), answerTimeoutMs);
    }
    return entries.map((e) => e.command);
  }

  function dispatch(pbxId: string, request: RelayRequest): Promise<Reply> {
    // Checked here, so one bad request can never make a whole poll answer unreadable to the connector.
    const parsed = RelayCommandSchema.safeParse({ ...request, id: randomBytes(18).toString('base64url') });
    if (!parsed.success) return Promise.reject(new PbxApiError(`not a request the connector can run: ${parsed.error.issues[0]?.message}`, 400));
    const command = parsed.data;
    return new Promise<Reply>((resolve, reject) => {
      const done = () => {
        clearTimeout(entry.timer);
        pending.delete(command.id);
        without(queued, pbxId, entry);
      };
      const entry: Pending = {
        pbxId,
        command,
        collected: false,
        timer: setTimeout(() => entry.fail(new PbxApiError(`no connector of PBX ${pbxId} collected the ${command.kind} request within ${pickupTimeoutMs} ms; is it running?`, null)), pickupTimeoutMs),
        settle(reply) {
          done();
          resolve(reply);
        },
        fail(err) {
          done();
          reject(err);
        },
      };
      pending.set(command.id, entry);
      const poll = polls.get(pbxId)?.[0];
      if (poll) poll(hand([entry]));
      else queued.set(pbxId, [...(queued.get(pbxId) ?? []), entry]);
    });
  }

  /** The answer to a collected command; a mismatched answer is refused by `answer`, so only failures remain. */
  function failure(reply: Reply): PbxApiError {
    return reply.kind === 'answer' && reply.answer.kind === 'failed' ? new PbxApiError(reply.answer.message, reply.answer.status) : new PbxApiError('the connector answered another kind of request', null);
  }

  return {
    async makeCall(pbxId, extension, destination): Promise<MakeCallResult> {
      const reply = await dispatch(pbxId, { kind: 'makecall', extension, destination });
      if (reply.kind === 'answer' && reply.answer.kind === 'makecall') return { ok: reply.answer.ok, pbxCallId: reply.answer.pbxCallId, reason: reply.answer.reason };
      throw failure(reply);
    },

    async openRecording(pbxId, pbxRecordingId): Promise<RecordingStream> {
      const reply = await dispatch(pbxId, { kind: 'recording', recordingId: pbxRecordingId, maxBytes: maxRecordingBytes });
      if (reply.kind === 'upload') return reply.recording;
      throw failure(reply);
    },

    // Not relayed yet: the connector's command set has makecall and recording only (README gaps).
    controlCall: () => Promise.reject(new PbxApiError('call control is not relayed through a remote connector yet', 501)),
    presence: () => Promise.reject(new PbxApiError('presence is not relayed through a remote connector yet', 501)),
    isInternalNumber: () => Promise.reject(new PbxApiError('extension look-ups are not relayed through a remote connector yet', 501)),

    collect(pbxId, waitMs, signal) {
      const ready = queued.get(pbxId)?.slice(0, MAX_COMMANDS_PER_POLL) ?? [];
      for (const entry of ready) without(queued, pbxId, entry);
      if (ready.length > 0 || signal.aborted) return Promise.resolve(hand(ready));
      return new Promise((resolve) => {
        const finish = (commands: RelayCommand[]) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', stop);
          without(polls, pbxId, finish);
          resolve(commands);
        };
        const stop = () => finish([]);
        const timer = setTimeout(stop, waitMs);
        signal.addEventListener('abort', stop, { once: true });
        polls.set(pbxId, [...(polls.get(pbxId) ?? []), finish]);
      });
    },

    answer(pbxId, commandId, answer) {
      const entry = pending.get(commandId);
      if (!entry || entry.pbxId !== pbxId || !entry.collected) return 'unknown';
      if (answer.kind !== 'failed' && answer.kind !== entry.command.kind) return 'mismatch';
      entry.settle({ kind: 'answer', answer });
      return 'accepted';
    },

    async upload(pbxId, commandId, upload) {
      const entry = pending.get(commandId);
      if (!entry || entry.pbxId !== pbxId || !entry.collected || entry.command.kind !== 'recording') return 'unknown';
      const { maxBytes } = entry.command;
      if (upload.contentLength !== null && upload.contentLength > maxBytes) {
        entry.fail(tooLarge(maxBytes));
        return 'too-large';
      }
      let relayed = 0;
      const capped = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          relayed += chunk.length;
          if (relayed > maxBytes) callback(tooLarge(maxBytes));
          else callback(null, chunk);
        },
      });
      entry.settle({ kind: 'upload', recording: { body: capped, contentType: upload.contentType, contentLength: upload.contentLength } });
      pipeline(upload.body, capped).catch(() => undefined);
      try {
        // Both sides: every byte read from the connector and taken by the agent's download.
        await finished(capped);
        return 'relayed';
      } catch {
        return relayed > maxBytes ? 'too-large' : 'aborted';
      }
    },
  };
}

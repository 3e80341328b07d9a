// The connector's half of the command relay (pbx/relay-wire.ts): a long poll to the bus collects the
// makecall and recording requests of agents, which run here against the PBX with the connector's
// own token (so the connector stays the client id's only token owner), and their answers and
// recordings go back over outbound HTTPS. A makecall runs at most once: nothing here retries it.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { type BackoffPolicy, backoffDelay, pause } from '../../../shared/retry.js';
import type { PbxApi } from '../../pbx/api.js';
import { PbxApiError } from '../../pbx/errors.js';
import { makeCallOn, openRecordingOn } from '../../pbx/gateway.js';
import { CommandBatchSchema, MAX_POLL_WAIT_SEC, RECORDING_CONTENT_TYPE, connectorCommandsPath, type RelayAnswer, type RelayCommand } from '../../pbx/relay-wire.js';

export interface CommandRelayOptions {
  busUrl: string;
  pbxId: string;
  connectorToken: string;
  api: Pick<PbxApi, 'callControl' | 'xapi'>;
  /** How long the bus may hold a poll open. Default 25 s (below common proxy idle timeouts). */
  waitSec?: number;
  /** Backoff while the bus is unreachable or refuses the poll. Default { baseMs: 500, capMs: 30_000 }. */
  retry?: BackoffPolicy;
  dispatcher?: Dispatcher;
  logger?: Logger;
}

/** No new poll while this many commands run; side by side, a long download does not hold up a dial. */
const MAX_RUNNING = 8;
const MAX_POLL_BODY_CHARS = 64 * 1024;
const UPLOAD_ANSWER_MS = 15 * 60_000;

export function startCommandRelay(opts: CommandRelayOptions): { stop(): Promise<void> } {
  const waitSec = Math.min(opts.waitSec ?? 25, MAX_POLL_WAIT_SEC);
  const retry = opts.retry ?? { baseMs: 500, capMs: 30_000 };
  const base = new URL(connectorCommandsPath(opts.pbxId), opts.busUrl).toString();
  const auth = { authorization: `Bearer ${opts.connectorToken}` };
  const stopping = new AbortController();
  const running = new Set<Promise<void>>();
  const log = (err: unknown, message: string) => opts.logger?.warn({ pbxId: opts.pbxId, err: (err as Error).message }, message);

  async function poll(): Promise<RelayCommand[]> {
    const res = await request(`${base}?waitSec=${waitSec}`, {
      headers: auth,
      signal: stopping.signal,
      dispatcher: opts.dispatcher,
      headersTimeout: (waitSec + 15) * 1000,
      bodyTimeout: 15_000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`the bus answered the command poll with HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    if (text.length > MAX_POLL_BODY_CHARS) throw new Error('the bus sent an oversized command batch');
    return CommandBatchSchema.parse(JSON.parse(text)).commands;
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        while (running.size >= MAX_RUNNING) await Promise.race(running);
        for (const command of await poll()) track(run(command));
        failures = 0;
      } catch (err) {
        if (stopping.signal.aborted) return;
        log(err, 'command poll failed');
        failures++;
        await pause(backoffDelay(failures, retry), stopping.signal);
      }
    }
  }

  function track(task: Promise<void>): void {
    running.add(task);
    void task.finally(() => running.delete(task));
  }

  const failed = (err: unknown): RelayAnswer => ({
    kind: 'failed',
    status: err instanceof PbxApiError && err.status !== null && err.status >= 100 && err.status <= 599 ? err.status : null,
    message: (err as Error).message.slice(0, 1000),
  });

  /** `answerWithinMs`: the bus answers an upload only once the agent has taken the last byte. */
  async function send(path: string, init: { body: string | Readable; headers: Record<string, string>; answerWithinMs?: number }): Promise<void> {
    const res = await request(`${base}/${path}`, {
      method: 'POST',
      body: init.body,
      headers: { ...auth, ...init.headers },
      dispatcher: opts.dispatcher,
      signal: stopping.signal,
      headersTimeout: init.answerWithinMs ?? 30_000,
      bodyTimeout: 30_000,
    });
    const detail = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`the bus answered HTTP ${res.statusCode}: ${detail.slice(0, 200)}`);
  }

  const answer = (command: RelayCommand, result: RelayAnswer) =>
    send(`${encodeURIComponent(command.id)}/answer`, { body: JSON.stringify(result), headers: { 'content-type': 'application/json' } });

  async function run(command: RelayCommand): Promise<void> {
    try {
      if (command.kind === 'makecall') {
        const result = await makeCallOn(opts.api, command.extension, command.destination).then((r): RelayAnswer => ({ kind: 'makecall', ...r }), failed);
        return await answer(command, result);
      }
      const recording = await openRecordingOn(opts.api, command.recordingId).catch((err: unknown) => failed(err));
      if ('kind' in recording) return await answer(command, recording);
      if (recording.contentLength !== null && recording.contentLength > command.maxBytes) {
        recording.body.destroy();
        return await answer(command, { kind: 'failed', status: 413, message: `recording of ${recording.contentLength} bytes; the bus takes at most ${command.maxBytes}` });
      }
      const headers: Record<string, string> = { 'content-type': RECORDING_CONTENT_TYPE.test(recording.contentType) ? recording.contentType : 'application/octet-stream' };
      if (recording.contentLength !== null) headers['content-length'] = String(recording.contentLength);
      // Streamed from the PBX socket to the bus socket; a refusal or a break stops the PBX download too.
      await send(`${encodeURIComponent(command.id)}/recording`, { body: recording.body, headers, answerWithinMs: UPLOAD_ANSWER_MS }).finally(() => recording.body.destroy());
    } catch (err) {
      log(err, `${command.kind} over the relay failed`);
    }
  }

  const looping = loop();
  return {
    async stop() {
      stopping.abort();
      await looping;
      await Promise.allSettled(running);
    },
  };
}

// The sink a connector beside an on-prem PBX uses: observations go to the bus over outbound HTTPS,
// in order, batched, retried with backoff and jitter until the bus answers 2xx. The queue is
// bounded and, given a durable one, outlives a restart; the deliveryId on each observation lets
// the bus drop a resend.
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { type BackoffPolicy, backoffDelay, pause } from '../../../shared/retry.js';
import type { CallObservation } from '../observation.js';
import { memoryObservationQueue, type ObservationQueue } from './remote-queue.js';
import { CONNECTOR_OBSERVATIONS_PATH, MAX_BATCH, toRemote, type RemoteObservation } from './wire.js';

export interface RemoteSinkOptions {
  busUrl: string;
  pbxId: string;
  connectorToken: string;
  /** Where observations wait for the bus; closed with the sink. Default: in memory. */
  queue?: ObservationQueue;
  /** Most observations held while the bus is unreachable. Default 10,000. */
  maxQueue?: number;
  /** Delays between resends while the bus is unreachable. Default { baseMs: 250, capMs: 30_000 }. */
  retry?: BackoffPolicy;
  dispatcher?: Dispatcher;
  logger?: Logger;
}

export interface RemoteSink {
  /** Queues the observation; rejects only when the queue is full. */
  (observation: CallObservation): Promise<void>;
  /** Resolves when everything queued so far has been accepted by the bus. */
  flush(): Promise<void>;
  pending(): number;
  close(): Promise<void>;
}

export class RemoteSinkFullError extends Error {}

export function createRemoteSink(opts: RemoteSinkOptions): RemoteSink {
  const queue = opts.queue ?? memoryObservationQueue();
  const maxQueue = opts.maxQueue ?? 10_000;
  const retry = opts.retry ?? { baseMs: 250, capMs: 30_000 };
  const url = new URL(CONNECTOR_OBSERVATIONS_PATH(opts.pbxId), opts.busUrl);
  const closing = new AbortController();
  let worker: Promise<void> | null = null;
  let drained: Array<() => void> = [];

  async function post(batch: RemoteObservation[]): Promise<'ok' | 'retry' | 'reject'> {
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.connectorToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ observations: batch }),
        dispatcher: opts.dispatcher,
        signal: closing.signal,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      const detail = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) return 'ok';
      opts.logger?.warn({ pbxId: opts.pbxId, status: res.statusCode, detail: detail.slice(0, 500) }, 'bus refused observations');
      // 4xx other than timeout/throttle will not get better by resending the same bytes.
      return res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429 ? 'reject' : 'retry';
    } catch (err) {
      opts.logger?.warn({ pbxId: opts.pbxId, err: (err as Error).message }, 'bus unreachable');
      return 'retry';
    }
  }

  async function drain(): Promise<void> {
    let failures = 0;
    while (queue.size() > 0 && !closing.signal.aborted) {
      const batch = queue.peek(MAX_BATCH);
      const outcome = await post(batch.map((entry) => entry.observation));
      if (outcome === 'retry') {
        failures++;
        await pause(backoffDelay(failures, retry), closing.signal);
        continue;
      }
      if (outcome === 'reject') opts.logger?.error({ pbxId: opts.pbxId, dropped: batch.map((e) => e.observation.deliveryId) }, 'observations dropped');
      failures = 0;
      queue.removeThrough(batch.at(-1)!.seq);
    }
    worker = null;
    if (queue.size() === 0) {
      for (const done of drained.splice(0)) done();
    }
  }

  const sink = (async (observation: CallObservation) => {
    if (queue.size() >= maxQueue) throw new RemoteSinkFullError(`remote sink queue full (${maxQueue}); bus unreachable?`);
    queue.push(toRemote(observation));
    worker ??= drain();
  }) as RemoteSink;
  sink.flush = () => (queue.size() === 0 ? Promise.resolve() : new Promise<void>((resolve) => drained.push(resolve)));
  sink.pending = () => queue.size();
  sink.close = async () => {
    closing.abort();
    await worker;
    drained = [];
    queue.close();
  };
  // What an earlier run left behind goes first.
  if (queue.size() > 0) worker = drain();
  return sink;
}

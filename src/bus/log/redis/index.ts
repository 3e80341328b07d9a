// Scale-out EventLog on Redis: every bus node appends through one Lua script (idempotency check,
// offset bump, XADD, PUBLISH) and hears every node's appends on a pub/sub channel. Durability is
// Redis's: run it with appendonly yes (appendfsync everysec or always) in production.
import { Redis } from 'ioredis';
import type { Result } from 'ioredis';
import type { CallEvent } from '../../../shared/call-event.js';
import type { Position } from '../../../shared/agent-protocol.js';
import type { AppendResult, EventLog, LogListener, LoggedEvent, ReadResult } from '../port.js';
import { agentExtensions, ListenerSet, newEpoch, receivedAtMs } from '../support.js';
import { APPEND, BACKFILL_AGENTS, FIND, READ, READ_AGENT, TRIM } from './scripts.js';

export interface RedisEventLogOptions {
  url: string;
  /** Prefix of every key and of the pub/sub channel, so several buses can share one Redis. */
  keyPrefix?: string;
  onError?: (err: unknown) => void;
}

type StreamEntry = [id: string, fields: string[]];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    rbAppend(...args: string[]): Result<[number, string, number], Context>;
    rbRead(...args: string[]): Result<[string, number, number, StreamEntry[]], Context>;
    rbReadAgent(...args: string[]): Result<[string, number, number, StreamEntry[]], Context>;
    rbFind(...args: string[]): Result<StreamEntry | null, Context>;
    rbBackfillAgents(...args: string[]): Result<number, Context>;
    rbTrim(...args: string[]): Result<number, Context>;
  }
}

const TRIM_BATCH = 500;
/** Most events per tenant fetched after a reconnect; agents further behind resync on resume. */
const CATCH_UP_LIMIT = 1_000;

function entryToLogged([id, fields]: StreamEntry): LoggedEvent {
  let payload = '';
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'e') payload = fields[i + 1]!;
  return { offset: Number.parseInt(id, 10), event: JSON.parse(payload) as CallEvent, json: payload };
}

interface Delivered {
  epoch: string;
  offset: number;
  /** Messages held while a gap is being filled from the stream. */
  held: LoggedEvent[] | null;
}

/** Connects and subscribes before resolving, so no append made after it is missed by listeners. */
export async function openRedisEventLog(options: RedisEventLogOptions): Promise<EventLog> {
  const prefix = options.keyPrefix ?? 'rb';
  const channel = `${prefix}:events`;
  const tenantsKey = `${prefix}:tenants`;
  const redis = new Redis(options.url, { lazyConnect: true });
  const subscriber = redis.duplicate();
  for (const [name, lua] of [['rbAppend', APPEND], ['rbRead', READ], ['rbReadAgent', READ_AGENT], ['rbFind', FIND], ['rbTrim', TRIM], ['rbBackfillAgents', BACKFILL_AGENTS]] as const) {
    redis.defineCommand(name, { numberOfKeys: 6, lua });
  }
  await Promise.all([redis.connect(), subscriber.connect()]);
  await subscriber.subscribe(channel);

  const listeners = new ListenerSet(options.onError);
  const delivered = new Map<string, Delivered>();

  // Streams written before the agent index existed are indexed once, before this node serves
  // resumes (appends index themselves, so a fill racing them or another node is harmless).
  for (const tenantId of await redis.smembers(tenantsKey)) {
    if ((await redis.hget(keys(tenantId)[0]!, 'ax')) !== null) continue;
    for (let from = 1; from !== 0; ) from = await redis.rbBackfillAgents(...keys(tenantId), tenantId, String(from), String(TRIM_BATCH));
  }

  function keys(tenantId: string): string[] {
    // The hash tag keeps one tenant's keys in one slot should this ever run on Redis Cluster.
    const base = `${prefix}:{${tenantId}}`;
    return [`${base}:meta`, `${base}:stream`, `${base}:idem`, `${base}:byid`, tenantsKey, `${base}:byagent`];
  }

  function readResult(tenantId: string, [epoch, top, firstRetained, entries]: [string, number, number, StreamEntry[]]): ReadResult {
    // A tenant read here before any of its messages was heard (an agent syncing) is tracked from
    // this position, so a message lost to a reconnect before its first one is still caught up.
    // Copies of offsets up to `top` arriving later were covered by that read and are dropped.
    if (!delivered.has(tenantId)) delivered.set(tenantId, { epoch, offset: top, held: null });
    return { events: entries.map(entryToLogged), position: { offset: top, epoch }, firstRetained };
  }

  async function read(tenantId: string, since: number, limit: number): Promise<ReadResult> {
    return readResult(tenantId, await redis.rbRead(...keys(tenantId), tenantId, newEpoch(), `${since + 1}-0`, String(limit)));
  }

  // Pub/sub drops messages while the subscriber reconnects. Per tenant, deliver in offset order;
  // on a gap, hold newer messages, fetch the missing ones from the stream, then go on. After a
  // reconnect, every known tenant catches up too, so a lost last message is not left hanging.
  function onMessage(tenantId: string, logged: LoggedEvent, epoch: string): void {
    const { offset } = logged;
    const state = delivered.get(tenantId);
    if (!state || state.epoch !== epoch) {
      delivered.set(tenantId, { epoch, offset, held: null });
      listeners.emit(tenantId, logged, epoch);
    } else if (state.held) {
      state.held.push(logged);
    } else if (offset === state.offset + 1) {
      state.offset = offset;
      listeners.emit(tenantId, logged, epoch);
    } else if (offset > state.offset + 1) {
      state.held = [logged];
      void fillGap(tenantId, state, offset - state.offset - 1);
    }
  }

  async function fillGap(tenantId: string, state: Delivered, count: number): Promise<void> {
    const held = state.held!;
    try {
      const missing = await read(tenantId, state.offset, count);
      if (missing.position.epoch === state.epoch) {
        for (const logged of missing.events) {
          if (logged.offset <= state.offset) continue;
          state.offset = logged.offset;
          listeners.emit(tenantId, logged, state.epoch);
        }
      }
    } catch (err) {
      options.onError?.(err);
    }
    state.held = null;
    for (const m of held) {
      // A gap the stream could not fill (trimmed meanwhile) is skipped; agents resync on resume.
      if (m.offset <= state.offset) continue;
      state.offset = m.offset;
      listeners.emit(tenantId, m, state.epoch);
    }
  }

  // Attached after the first connect, so every 'ready' seen here is a reconnect. ioredis emits it
  // before its own re-SUBSCRIBE is sent; catching up then could read the stream before the
  // subscription is back and lose what is appended in between. Our SUBSCRIBE queues behind
  // ioredis's, so once Redis confirms it, every later append reaches us: catch up from then.
  subscriber.on('ready', () => {
    const pending = [...delivered].filter(([, state]) => !state.held); // a fill in progress delivers up to its newest message
    if (pending.length === 0) return;
    for (const [, state] of pending) state.held = [];
    void subscriber
      .subscribe(channel)
      .catch((err: unknown) => options.onError?.(err))
      .then(() => {
        for (const [tenantId, state] of pending) void fillGap(tenantId, state, CATCH_UP_LIMIT);
      });
  });

  subscriber.on('message', (_channel: string, message: string) => {
    // "<offset> <epoch> <tenant length> <tenant><payload>"
    const s1 = message.indexOf(' ');
    const s2 = message.indexOf(' ', s1 + 1);
    const s3 = message.indexOf(' ', s2 + 1);
    const tenantEnd = s3 + 1 + Number.parseInt(message.slice(s2 + 1, s3), 10);
    try {
      const json = message.slice(tenantEnd);
      const logged = { offset: Number.parseInt(message.slice(0, s1), 10), event: JSON.parse(json) as CallEvent, json };
      onMessage(message.slice(s3 + 1, tenantEnd), logged, message.slice(s1 + 1, s2));
    } catch (err) {
      options.onError?.(err);
    }
  });

  return {
    async append(tenantId: string, event: CallEvent, idempotencyKey: string): Promise<AppendResult> {
      const [offset, epoch, duplicate] = await redis.rbAppend(
        ...keys(tenantId),
        tenantId,
        newEpoch(),
        idempotencyKey,
        event.id,
        String(receivedAtMs(event)),
        JSON.stringify(event),
        channel,
        event.pbxId,
        ...agentExtensions(event),
      );
      return { offset, epoch, duplicate: duplicate === 1 };
    },

    read: (tenantId, { since, limit }) => read(tenantId, since, limit),

    async readForAgent(tenantId, { pbxId, extension, since, limit }): Promise<ReadResult> {
      return readResult(tenantId, await redis.rbReadAgent(...keys(tenantId), tenantId, newEpoch(), pbxId, extension, String(since), String(limit)));
    },

    async position(tenantId: string): Promise<Position> {
      return (await read(tenantId, 0, 0)).position;
    },

    async findById(tenantId: string, eventId: string): Promise<LoggedEvent | null> {
      const entry = await redis.rbFind(...keys(tenantId), tenantId, eventId);
      return entry ? entryToLogged(entry) : null;
    },

    subscribe(listener: LogListener): () => void {
      return listeners.add(listener);
    },

    async trim(olderThan: Date): Promise<number> {
      let removed = 0;
      for (const tenantId of await redis.smembers(tenantsKey)) {
        for (;;) {
          const n = await redis.rbTrim(...keys(tenantId), tenantId, String(olderThan.getTime()), String(TRIM_BATCH));
          removed += n;
          if (n < TRIM_BATCH) break;
        }
      }
      return removed;
    },

    async close(): Promise<void> {
      listeners.clear();
      await Promise.allSettled([subscriber.quit(), redis.quit()]);
    },
  };
}

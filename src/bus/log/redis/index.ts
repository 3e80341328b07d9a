// Scale-out EventLog on Redis or Redis Cluster: every bus node appends through one Lua script
// (idempotency check, offset bump, XADD, SPUBLISH) on the tenant's keys, which share one hash slot,
// and hears the appends of the tenants it watches (those whose agents it serves) on their shard
// channels. Durability is Redis's: redis-durability.ts says what each appendfsync setting can lose.
import { Cluster, type Result } from 'ioredis';
import { createRedis } from '../../redis-client.js';
import type { CallEvent } from '../../../shared/call-event.js';
import type { Position } from '../../../shared/agent-protocol.js';
import type { AppendResult, EventLog, LogListener, LoggedEvent, OpenLeg, ReadResult } from '../port.js';
import { agentExtensions, ListenerSet, newEpoch, openLegChanges, openLegField, parseOpenLegField, receivedAtMs } from '../support.js';
import { APPEND, BACKFILL_AGENTS, DROP_OPEN_LEGS, FIND, OPEN_LEGS, READ, READ_AGENT, TRIM } from './scripts.js';

export interface RedisEventLogOptions {
  /** redis://, rediss://, or redis+cluster://host:port,host:port (see redis-client.ts). */
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
    rbOpenLegs(...args: string[]): Result<Array<[string, StreamEntry]>, Context>;
    rbDropOpenLegs(...args: string[]): Result<number, Context>;
  }
}

const TRIM_BATCH = 500;
/** Most events per tenant fetched after a reconnect; agents further behind resync on resume. */
const CATCH_UP_LIMIT = 1_000;

/** A list as the APPEND script reads it: its length, then its items. */
const counted = (items: string[]): string[] => [String(items.length), ...items];

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

/** Connects before resolving; listeners hear a tenant's appends once watch() for it has resolved. */
export async function openRedisEventLog(options: RedisEventLogOptions): Promise<EventLog> {
  const prefix = options.keyPrefix ?? 'rb';
  const tenantsKey = `${prefix}:tenants`;
  const redis = createRedis(options.url);
  const subscriber = createRedis(options.url, { sharded: true });
  for (const [name, lua] of [['rbAppend', APPEND], ['rbRead', READ], ['rbReadAgent', READ_AGENT], ['rbFind', FIND], ['rbTrim', TRIM], ['rbBackfillAgents', BACKFILL_AGENTS], ['rbOpenLegs', OPEN_LEGS], ['rbDropOpenLegs', DROP_OPEN_LEGS]] as const) {
    redis.defineCommand(name, { numberOfKeys: 6, lua });
  }
  // Reconnects are ioredis's; each failed attempt is reported, not thrown.
  for (const client of [redis, subscriber]) client.on('error', (err: unknown) => options.onError?.(err));
  await Promise.all([redis.connect(), subscriber.connect()]);

  const listeners = new ListenerSet(options.onError);
  const delivered = new Map<string, Delivered>();
  /** Watchers per tenant, and its SSUBSCRIBE while it has any. */
  const watchers = new Map<string, { count: number; subscribed: Promise<void> }>();
  /** Tenants this process put in the tenant set (trim and the index backfill walk it). */
  const registered = new Set<string>();

  // Streams written before the agent index existed are indexed once, before this node serves
  // resumes (appends index themselves, so a fill racing them or another node is harmless).
  for (const tenantId of await redis.smembers(tenantsKey)) {
    if ((await redis.hget(keys(tenantId)[0]!, 'ax')) !== null) continue;
    for (let from = 1; from !== 0; ) from = await redis.rbBackfillAgents(...keys(tenantId), tenantId, String(from), String(TRIM_BATCH));
  }

  // The hash tag {<tenant>} puts one tenant's keys and shard channel in one Cluster slot. (These
  // names predate Cluster support, so streams written by earlier versions are read as they are.)
  function keys(tenantId: string): string[] {
    const base = `${prefix}:{${tenantId}}`;
    return [`${base}:meta`, `${base}:stream`, `${base}:idem`, `${base}:byid`, `${base}:byagent`, `${base}:open`];
  }
  const channelOf = (tenantId: string) => `${prefix}:{${tenantId}}:events`;
  const tenantOf = (channel: string) => channel.slice(prefix.length + 2, -':events'.length - 1);

  function readResult(tenantId: string, [epoch, top, firstRetained, entries]: [string, number, number, StreamEntry[]]): ReadResult {
    // A tenant read here before any of its messages was heard (an agent syncing) is tracked from
    // this position, so a message lost to a reconnect before its first one is still caught up.
    // Copies of offsets up to `top` arriving later were covered by that read and are dropped.
    if (watchers.has(tenantId) && !delivered.has(tenantId)) delivered.set(tenantId, { epoch, offset: top, held: null });
    return { events: entries.map(entryToLogged), position: { offset: top, epoch }, firstRetained };
  }

  async function read(tenantId: string, since: number, limit: number): Promise<ReadResult> {
    return readResult(tenantId, await redis.rbRead(...keys(tenantId), tenantId, newEpoch(), `${since + 1}-0`, String(limit)));
  }

  // Pub/sub drops messages while the subscriber reconnects. Per tenant, deliver in offset order;
  // on a gap, hold newer messages, fetch the missing ones from the stream, then go on. After a
  // reconnect, every known tenant catches up too, so a lost last message is not left hanging.
  function onMessage(tenantId: string, logged: LoggedEvent, epoch: string): void {
    if (!watchers.has(tenantId)) return; // in flight when its last watcher left
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
  // before its own re-SSUBSCRIBE is sent; catching up then could read the stream before the
  // subscription is back and lose what is appended in between. Our SSUBSCRIBE queues behind
  // ioredis's, so once Redis confirms it, every later append reaches us: catch up from then.
  // A Cluster client replaces a lost shard subscriber itself and says so with 'subscribersReady'
  // (after re-sending its SSUBSCRIBEs); it emits no 'ready' for it.
  subscriber.on(subscriber instanceof Cluster ? 'subscribersReady' : 'ready', () => {
    for (const [tenantId, state] of delivered) {
      if (state.held) continue; // a fill in progress delivers up to its newest message
      state.held = [];
      void subscriber
        .ssubscribe(channelOf(tenantId))
        .catch((err: unknown) => options.onError?.(err))
        .then(() => fillGap(tenantId, state, CATCH_UP_LIMIT));
    }
  });

  subscriber.on('smessage', (channel: string, message: string) => {
    // "<offset> <epoch> <payload>"
    const s1 = message.indexOf(' ');
    const s2 = message.indexOf(' ', s1 + 1);
    try {
      const json = message.slice(s2 + 1);
      const logged = { offset: Number.parseInt(message.slice(0, s1), 10), event: JSON.parse(json) as CallEvent, json };
      onMessage(tenantOf(channel), logged, message.slice(s1 + 1, s2));
    } catch (err) {
      options.onError?.(err);
    }
  });

  return {
    async append(tenantId: string, event: CallEvent, idempotencyKey: string): Promise<AppendResult> {
      if (!registered.has(tenantId)) {
        // Before the first append, so a tenant with events is always in the set trim walks.
        await redis.sadd(tenantsKey, tenantId);
        registered.add(tenantId);
      }
      const legs = openLegChanges(event);
      const [offset, epoch, duplicate] = await redis.rbAppend(
        ...keys(tenantId),
        tenantId,
        newEpoch(),
        idempotencyKey,
        event.id,
        String(receivedAtMs(event)),
        JSON.stringify(event),
        channelOf(tenantId),
        event.pbxId,
        ...counted(agentExtensions(event)),
        ...counted(legs.close),
        ...counted(legs.open),
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

    async openLegs(tenantId: string, pbxId: string): Promise<OpenLeg[]> {
      // Every field of this PBX starts as its JSON array does, up to the call id.
      const prefix = openLegField(pbxId, '', '').slice(0, -'"",""]'.length);
      const pairs = await redis.rbOpenLegs(...keys(tenantId), tenantId, prefix);
      return pairs.map(([field, entry]) => ({ extension: parseOpenLegField(field).extension, logged: entryToLogged(entry) }));
    },

    async dropOpenLegs(tenantId: string, pbxId: string, legs: Array<{ pbxCallId: string; extension: string; offset: number }>): Promise<void> {
      if (legs.length === 0) return;
      await redis.rbDropOpenLegs(...keys(tenantId), tenantId, ...legs.flatMap((l) => [openLegField(pbxId, l.pbxCallId, l.extension), String(l.offset)]));
    },

    async findById(tenantId: string, eventId: string): Promise<LoggedEvent | null> {
      const entry = await redis.rbFind(...keys(tenantId), tenantId, eventId);
      return entry ? entryToLogged(entry) : null;
    },

    subscribe(listener: LogListener): () => void {
      return listeners.add(listener);
    },

    watch(tenantId: string): Promise<void> {
      let watched = watchers.get(tenantId);
      if (!watched) {
        watched = { count: 0, subscribed: subscriber.ssubscribe(channelOf(tenantId)).then(() => undefined) };
        watchers.set(tenantId, watched);
      }
      watched.count++;
      return watched.subscribed;
    },

    unwatch(tenantId: string): void {
      const watched = watchers.get(tenantId);
      if (!watched || --watched.count > 0) return;
      watchers.delete(tenantId);
      delivered.delete(tenantId); // a later watch starts from the position its agents read
      // Sent after the SSUBSCRIBE on the same connection, so a watch() racing this one re-subscribes after it.
      void subscriber.sunsubscribe(channelOf(tenantId)).catch((err: unknown) => options.onError?.(err));
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

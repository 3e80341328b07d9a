// The durable per-tenant event log. One interface, one adapter per storage engine
// (sqlite: embedded default, redis: scale-out, memory: tests); one contract suite runs on all.
import type { CallEvent } from '../../shared/call-event.js';
import type { Position } from '../../shared/agent-protocol.js';
import type { DeliveryRecord, DeliveryStore } from '../ingest/deliveries/port.js';

export interface LoggedEvent {
  /** Per-tenant, starts at 1, +1 on every append, no gaps. */
  offset: number;
  event: CallEvent;
  /** The event as the log stores it (JSON), where the adapter has it, so fan-out need not encode it again. */
  json?: string;
}

export interface AppendResult extends Position {
  /** True when the idempotency key was seen before: nothing was written, offset is the original. */
  duplicate: boolean;
  /** The append's `delivery` was stored with the event, in the same commit (a new event, on a log with `deliveries`). */
  deliveryStored?: boolean;
}

/** A sender delivery to remember with the event it brought (see DeliveryStore). */
export interface DeliveryWrite {
  key: string;
  record: DeliveryRecord;
}

export interface ReadResult {
  events: LoggedEvent[];
  /** Current top of the log (0 when empty) and its epoch. */
  position: Position;
  /** Offset of the oldest event still retained (top + 1 when empty). */
  firstRetained: number;
}

/** An agent's address in a tenant's log: the events whose `agents` list its extension on its PBX concern it. */
export interface AgentAddress {
  pbxId: string;
  extension: string;
}

/** A call's leg on one extension that the log holds as still in progress (see openLegChanges). */
export interface OpenLeg {
  extension: string;
  /** The latest event that opened or kept it open (its ring, or the answer it took). */
  logged: LoggedEvent;
}

/** Called for every committed append, on every node (Redis: via sharded pub/sub, watched tenants only), in offset order per tenant. */
export type LogListener = (tenantId: string, logged: LoggedEvent, epoch: string) => void;

export interface EventLog {
  /**
   * Durable when the promise resolves: only then may the PBX be answered 2xx. A log with
   * `deliveries` also stores `delivery` there when the event is new, in the same commit.
   */
  append(tenantId: string, event: CallEvent, idempotencyKey: string, delivery?: DeliveryWrite): Promise<AppendResult>;
  /** Delivery ids kept in the log's own storage (SQLite: its file), where the engine has them. */
  readonly deliveries?: DeliveryStore;
  /** Events with offset > since, oldest first, at most `limit` (0 = position only). */
  read(tenantId: string, opts: { since: number; limit: number }): Promise<ReadResult>;
  /**
   * Events with offset > since that concern one agent, oldest first, at most `limit`, however many
   * other events lie between them (an index, not a scan: resume pages through this). The position
   * is the top when the page was read: no event up to it that concerns the agent is missing.
   */
  readForAgent(tenantId: string, opts: AgentAddress & { since: number; limit: number }): Promise<ReadResult>;
  position(tenantId: string): Promise<Position>;
  /**
   * The legs on this PBX that the log holds as in progress: rung or answered on the extension and
   * not ended there (an index kept with every append, cleared by retention). Whoever takes a PBX's
   * Call Control socket over asks the PBX what became of them.
   */
  openLegs(tenantId: string, pbxId: string): Promise<OpenLeg[]>;
  /**
   * Takes legs out of openLegs that nothing can end truly (gone from the PBX, no call-log row, held
   * open for hours), so no later takeover restores them again. A leg is dropped only while the
   * event at `offset` still holds it open (a newer ring of a reused id is left alone).
   */
  dropOpenLegs(tenantId: string, pbxId: string, legs: Array<{ pbxCallId: string; extension: string; offset: number }>): Promise<void>;
  /** Finds one event by its CallEvent.id (recording requests name the event). */
  findById(tenantId: string, eventId: string): Promise<LoggedEvent | null>;
  subscribe(listener: LogListener): () => void;
  /**
   * Adapters shared by several nodes (Redis) deliver to subscribers only the appends of tenants
   * watched on this node: watch() resolves once the tenant's appends will be heard; each watch is
   * undone by one unwatch(). In-process adapters deliver every tenant's and leave both out.
   */
  watch?(tenantId: string): Promise<void>;
  unwatch?(tenantId: string): void;
  /** Deletes events received before `olderThan`; returns how many. */
  trim(olderThan: Date): Promise<number>;
  close(): Promise<void>;
}

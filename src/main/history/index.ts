/**
 * Recent calls for the window, with each call's CRM-log state.
 *
 * `new CallHistory({ rows, contactNameOf?, maxEntries? = 500, maxAgeDays? = 30 })`, rows from
 * `sqliteHistoryRows(file)` or `memoryHistoryRows()`; every change is written at once:
 * - `record(event, extension)` folds a CallEvent (live or replayed) into its entry
 * - `list(): CallRecord[]` newest first; `get(callKey)`; `onChange(fn(record)) => unsubscribe`
 * - `setCrmState(callKey, state: CrmLogState, reason?)` (outbox; CrmLogState from src/shared/call-history)
 * - `setContactName(callKey, name)`, `lastCallWith(e164, exceptKey)`, `close()` on quit
 * `callKeyOf(event, extension)` = tenant:pbx:callId:extension (the CRM idempotency key).
 */
export {
  CallHistory,
  CallRecordSchema,
  callKeyOf,
  type CallRecord,
  type CallHistoryOptions,
} from './history.js';
export { memoryHistoryRows, sqliteHistoryRows, type HistoryRows } from './rows.js';

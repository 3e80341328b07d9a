/**
 * Recent calls for the window, with each call's CRM-log state.
 *
 * `new CallHistory({ rows, contactNameOf?, maxEntries? = 500, maxAgeDays? = 30 })`, rows from
 * `sqliteHistoryRows(file)` or `memoryHistoryRows()`; every change is written at once:
 * - `record(event, extension)` folds a CallEvent (live or replayed) into its entry
 * - `list(): CallRecord[]` newest first; `get(callKey)`; `onChange(fn(record)) => unsubscribe`
 * - `setCrmState(callKey, 'pending'|'logged'|'recording_attached'|'needs_attention'|'not_applicable', reason?)` (outbox)
 * - `setContactName(callKey, name)`, `lastCallWith(e164, exceptKey)`, `close()` on quit
 * `callKeyOf(event, extension)` = tenant:pbx:callId:extension (the CRM idempotency key).
 */
export {
  CallHistory,
  CallRecordSchema,
  CrmLogState,
  CallOutcome,
  callKeyOf,
  type CallRecord,
  type CallHistoryOptions,
} from './history.js';
export { memoryHistoryRows, sqliteHistoryRows, type HistoryRows } from './rows.js';

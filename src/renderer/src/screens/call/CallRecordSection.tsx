// A call's CRM record on the Call panel and the Recent calls row: pick the record, log to a deal,
// create a new caller's record. Each change is logged at once (an update of the call's one record).
import { useState } from 'react';
import { CreateContact } from './CreateContact.js';
import { DealPicker } from './DealPicker.js';
import { RecordPicker } from './RecordPicker.js';
import { useCallRecordAction, useCallRecords } from './useCallRecords.js';

export function CallRecordSection({ callKey, who }: { callKey: string; who: string }) {
  const records = useCallRecords(callKey);
  const action = useCallRecordAction(callKey);
  if (records.isPending) return <p className="loading">Looking up the CRM record…</p>;
  if (records.isError) return <p role="alert" className="error">{records.error.message}</p>;
  const view = records.data;
  if (view.e164 === null) return null;
  return (
    <div className="call-record" aria-label={`CRM record of the call with ${who}`}>
      <RecordPicker view={view} who={who} busy={action.isPending} onPick={(id) => action.mutate({ kind: 'record', id })} />
      <DealPicker view={view} who={who} busy={action.isPending} onPick={(id) => action.mutate({ kind: 'deal', id })} />
      <CreateContact view={view} busy={action.isPending} onCreate={(name) => action.mutate({ kind: 'create', name })} />
      {action.isError && (
        <p role="alert" className="error">
          {action.error.message}
        </p>
      )}
    </div>
  );
}

/** On a Recent calls row: the record section opens on demand (it asks the CRM for deals). */
export function CallRecordToggle({ callKey, who }: { callKey: string; who: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="link" onClick={() => setOpen(!open)} aria-expanded={open} aria-label={`CRM record of the call with ${who}`}>
        Record
      </button>
      {open && <CallRecordSection callKey={callKey} who={who} />}
    </>
  );
}

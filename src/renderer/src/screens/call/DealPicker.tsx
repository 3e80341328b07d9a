// The picked record's open deals (opportunities, cases): the call is logged to the one picked as
// well as to the record. Hidden when the record has none.
import type { CallRecords } from '../../../../shared/ipc.js';

export function DealPicker({ view, who, busy, onPick }: { view: CallRecords; who: string; busy: boolean; onPick: (id: string | null) => void }) {
  if (view.dealsError) return <p className="reason">{view.dealsError}</p>;
  if (view.deals.length === 0) return null;
  return (
    <label className="field deal-picker">
      Deal
      <select value={view.dealId ?? ''} disabled={busy} onChange={(e) => onPick(e.target.value || null)} aria-label={`Deal the call with ${who} is logged to`}>
        <option value="">No deal</option>
        {view.deals.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name}
            {d.stage ? ` · ${d.stage}` : ''}
          </option>
        ))}
      </select>
      <small>{view.deals.length === 1 ? 'One open deal' : `${view.deals.length} open deals`} on this record.</small>
    </label>
  );
}

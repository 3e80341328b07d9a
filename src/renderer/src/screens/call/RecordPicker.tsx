// Several records share the caller's number: the agent picks the one the call is logged to. The
// pick is remembered for the number; without one the suggestion (own record, latest activity) stands.
import type { CallRecords } from '../../../../shared/ipc.js';

const HOW: Record<NonNullable<CallRecords['chosenBy']>, string> = {
  agent: 'your pick',
  remembered: 'your pick for this number',
  policy: 'suggested: your own record, else the latest active',
};

export function RecordPicker({ view, who, busy, onPick }: { view: CallRecords; who: string; busy: boolean; onPick: (id: string) => void }) {
  if (view.candidates.length === 0) return null;
  if (view.candidates.length === 1) {
    const only = view.candidates[0]!;
    return <p className="record-only">Record: {only.name}{only.company ? ` (${only.company})` : ''}</p>;
  }
  return (
    <label className="field record-picker">
      Log the call with {who} to
      <select value={view.chosenId ?? ''} disabled={busy} onChange={(e) => onPick(e.target.value)} aria-label={`Record the call with ${who} is logged to`}>
        {view.candidates.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
            {c.company ? ` · ${c.company}` : ''} · {c.kind}
          </option>
        ))}
      </select>
      <small>
        {view.candidates.length} records have this number{view.chosenBy ? `; ${HOW[view.chosenBy]}` : ''}.
      </small>
    </label>
  );
}

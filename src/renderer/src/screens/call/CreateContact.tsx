// A caller the CRM does not know: create the record (a contact, or a lead in CRMs that keep new
// people as leads) with the number filled in, and log the call to it. The tenant policy decides
// whether the agent may ('ask'), the record is made anyway ('auto'), or neither ('off').
import { useState, type FormEvent } from 'react';
import type { CallRecords } from '../../../../shared/ipc.js';

export function CreateContact({ view, busy, onCreate }: { view: CallRecords; busy: boolean; onCreate: (name: string) => void }) {
  const [name, setName] = useState('');
  if (view.candidates.length > 0 || view.e164 === null) return null;
  if (view.create === 'auto') return <p className="record-only">New caller: a record with {view.e164} is created when the call is logged.</p>;
  if (view.create === 'off') return <p className="record-only">New caller: not in your CRM. The call is logged without a record.</p>;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onCreate(name.trim());
  };
  return (
    <form className="create-contact" onSubmit={submit} aria-label={`Create a CRM record for ${view.e164}`}>
      <label className="field">
        New caller {view.e164}: name (optional)
        <input value={name} maxLength={120} onChange={(e) => setName(e.target.value)} placeholder="First and last name" />
      </label>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create contact'}
      </button>
    </form>
  );
}

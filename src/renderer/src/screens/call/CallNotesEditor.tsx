// A Recent calls row's notes and outcome, edited after the call: Save updates the CRM record the
// call was logged to (never a second record).
import { useCallNotes, useCallPanel } from '../../agent.js';
import { NotesForm } from './NotesForm.js';

export function CallNotesEditor({ callKey, who, onDone }: { callKey: string; who: string; onDone: () => void }) {
  const saved = useCallNotes(callKey);
  const panel = useCallPanel();
  if (saved.isPending) return <p className="loading">Loading notes…</p>;
  if (saved.isError) return <p role="alert" className="error">{saved.error.message}</p>;
  return (
    <NotesForm
      callKey={callKey}
      who={who}
      initialNotes={saved.data.notes}
      initialDispositionId={saved.data.dispositionId}
      dispositions={panel.data?.dispositions ?? []}
      drafts={false}
      onSaved={onDone}
    />
  );
}

// Notes and outcome for one call: the Call panel's wrap-up form and the Recent calls row's editor.
// Typing saves a draft to main (kept on disk, so quitting loses nothing); Save ends the wrap-up and
// writes the CRM log, or updates a call logged already.
import { useEffect, useRef, useState } from 'react';
import { CALL_NOTES_MAX, type Disposition } from '../../../../shared/ipc.js';
import { useSaveCallNotes } from '../../agent.js';

const DRAFT_DELAY_MS = 400;

export interface NotesFormProps {
  callKey: string;
  /** Who the call was with, for labels a screen reader can tell apart. */
  who: string;
  initialNotes: string;
  initialDispositionId: string | null;
  dispositions: Disposition[];
  /** Drafts while typing (wrap-up); the Recent calls editor only saves on Save. */
  drafts: boolean;
  onSaved?: () => void;
}

export function NotesForm({ callKey, who, initialNotes, initialDispositionId, dispositions, drafts, onSaved }: NotesFormProps) {
  const [notes, setNotes] = useState(initialNotes);
  const [dispositionId, setDispositionId] = useState<string | null>(initialDispositionId);
  const save = useSaveCallNotes();
  const draftTimer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(draftTimer.current), []);

  const draft = (nextNotes: string, nextDisposition: string | null) => {
    if (!drafts) return;
    window.clearTimeout(draftTimer.current);
    draftTimer.current = window.setTimeout(() => save.mutate({ callKey, notes: nextNotes, dispositionId: nextDisposition, done: false }), DRAFT_DELAY_MS);
  };

  return (
    <form
      className="notes-form"
      onSubmit={(e) => {
        e.preventDefault();
        window.clearTimeout(draftTimer.current);
        save.mutate({ callKey, notes, dispositionId, done: true }, { onSuccess: () => onSaved?.() });
      }}
    >
      <label className="field">
        Notes
        <textarea
          aria-label={`Notes for the call with ${who}`}
          value={notes}
          maxLength={CALL_NOTES_MAX}
          rows={4}
          onChange={(e) => {
            setNotes(e.target.value);
            draft(e.target.value, dispositionId);
          }}
        />
      </label>
      <label className="field">
        Outcome
        <select
          aria-label={`Outcome of the call with ${who}`}
          value={dispositionId ?? ''}
          onChange={(e) => {
            const next = e.target.value || null;
            setDispositionId(next);
            draft(notes, next);
          }}
        >
          <option value="">{dispositions.length === 0 ? 'No outcomes from the CRM' : 'Choose an outcome…'}</option>
          {dispositions.map((d) => (
            <option key={d.id} value={d.id}>
              {d.label}
            </option>
          ))}
        </select>
      </label>
      <div className="notes-actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save'}
        </button>
        {save.isError && (
          <p role="alert" className="error">
            {save.error.message}
          </p>
        )}
      </div>
    </form>
  );
}

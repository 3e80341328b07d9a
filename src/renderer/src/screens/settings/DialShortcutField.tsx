import { useId, useState, type ReactNode } from 'react';
import { checkAccelerator } from '../../../../shared/accelerator.js';

/**
 * The "dial the selected number" shortcut (issue 11 item 8). Saved on Enter or when the field is
 * left; a shortcut that is not usable is refused here with the reason and nothing is saved (main
 * checks it again with the same rule).
 */
export function DialShortcutField(props: { value: string; onSave: (accelerator: string) => void }): ReactNode {
  const hintId = useId();
  // What is typed, tied to the saved value it started from: once a newer value is saved, it wins.
  const [typed, setTyped] = useState<{ from: string; text: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const text = typed?.from === props.value ? typed.text : props.value;
  const commit = () => {
    const checked = checkAccelerator(text);
    if (!checked.ok) return setError(checked.reason);
    setError(null);
    setTyped(null);
    if (checked.accelerator !== props.value) props.onSave(checked.accelerator);
  };
  return (
    <label className="field">
      Dial shortcut
      <input
        value={text}
        spellCheck={false}
        aria-invalid={error !== null}
        aria-describedby={hintId}
        onChange={(e) => setTyped({ from: props.value, text: e.target.value })}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
        }}
      />
      <small id={hintId}>
        {error ? (
          <span className="error" role="alert">
            {error}
          </span>
        ) : (
          'Select or copy a number anywhere, press this, and it is dialled as a tel: link would be. Empty: no shortcut.'
        )}
      </small>
    </label>
  );
}

import { useState, type FormEvent, type RefObject } from 'react';
import { useDial } from '../agent.js';

export function DialBox({ inputRef }: { inputRef: RefObject<HTMLInputElement | null> }) {
  const dial = useDial();
  const [number, setNumber] = useState('');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (number.trim()) dial.mutate(number.trim());
  };

  return (
    <form className="dial" onSubmit={submit} role="search" aria-label="Dial">
      <label className="visually-hidden" htmlFor="dial-number">
        Number to dial
      </label>
      <input
        id="dial-number"
        ref={inputRef}
        type="tel"
        placeholder="Number to dial"
        value={number}
        onChange={(e) => setNumber(e.target.value)}
        autoComplete="off"
      />
      <button type="submit" className="primary" disabled={dial.isPending || !number.trim()}>
        {dial.isPending ? 'Calling…' : 'Call'}
      </button>
      <p className="dial-result" role="status" aria-live="polite">
        {dial.isError && <span className="error">{dial.error.message}</span>}
        {dial.data?.status === 'dialling' && `Calling ${dial.data.e164 ?? ''} — your phone will ring first.`}
        {dial.data?.status === 'cancelled' && 'Call cancelled.'}
      </p>
    </form>
  );
}

import { useState, type FormEvent } from 'react';
import { usePair } from '../agent.js';

export function Pairing({ defaultBusUrl }: { defaultBusUrl: string | null }) {
  const pair = usePair();
  const [busUrl, setBusUrl] = useState(defaultBusUrl ?? 'https://');
  const [code, setCode] = useState('');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    pair.mutate({ busUrl: busUrl.trim(), code: code.trim() });
  };

  return (
    <form className="card pairing" onSubmit={submit} aria-labelledby="pairing-title">
      <h2 id="pairing-title">Pair this computer</h2>
      <p className="hint">Your administrator gives you the bus address and a one-time pairing code.</p>
      <label>
        Bus address
        <input type="url" value={busUrl} onChange={(e) => setBusUrl(e.target.value)} required autoComplete="url" />
      </label>
      <label>
        Pairing code
        <input value={code} onChange={(e) => setCode(e.target.value)} required minLength={6} autoComplete="one-time-code" spellCheck={false} />
      </label>
      {pair.isError && (
        <p role="alert" className="error">
          {pair.error.message}
        </p>
      )}
      <button type="submit" className="primary" disabled={pair.isPending}>
        {pair.isPending ? 'Pairing…' : 'Pair'}
      </button>
    </form>
  );
}

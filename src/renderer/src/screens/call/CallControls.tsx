// Answer, hang up and transfer a call of the agent's own extension, from the Call panel. Main sends
// each to the bus, which checks it is this agent's call and asks 3CX (Call Control); the card then
// follows the call's own events. 3CX's Call Control API has no hold or resume, so neither is offered.
import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import type { CallAction } from '../../../../shared/agent-protocol.js';
import type { PanelCall } from '../../../../shared/ipc.js';

export function CallControls({ call, who }: { call: PanelCall; who: string }) {
  const [transferring, setTransferring] = useState(false);
  const [destination, setDestination] = useState('');
  const control = useMutation({
    mutationFn: ({ action, to }: { action: CallAction; to: string | null }) => window.agent.controlCall(call.callKey, action, to),
    onSuccess: (_done, { action }) => {
      if (action === 'transfer') setTransferring(false);
    },
  });
  if (call.state === 'wrap_up') return null;
  const act = (action: CallAction, to: string | null = null) => control.mutate({ action, to });
  const transfer = (e: FormEvent) => {
    e.preventDefault();
    if (destination.trim()) act('transfer', destination.trim());
  };
  const busy = control.isPending;
  return (
    <div className="call-controls" role="group" aria-label={`Call controls for ${who}`}>
      <div className="call-control-buttons">
        {call.state === 'ringing' && (
          <button type="button" className="primary answer" disabled={busy} onClick={() => act('answer')}>
            Answer
          </button>
        )}
        {call.state === 'talking' && !transferring && (
          <button type="button" disabled={busy} onClick={() => setTransferring(true)}>
            Transfer…
          </button>
        )}
        <button type="button" className="danger hangup" disabled={busy} onClick={() => act('hangup')}>
          {call.state === 'ringing' ? 'Decline' : 'Hang up'}
        </button>
      </div>
      {transferring && (
        <form className="transfer" onSubmit={transfer} aria-label={`Transfer ${who}`}>
          <label className="field">
            Transfer to an extension or number
            <input autoFocus value={destination} maxLength={64} onChange={(e) => setDestination(e.target.value)} placeholder="e.g. 102 or 02 9876 5432" />
          </label>
          <button type="submit" className="primary" disabled={busy || !destination.trim()}>
            {busy ? 'Transferring…' : 'Transfer'}
          </button>
          <button type="button" disabled={busy} onClick={() => setTransferring(false)}>
            Cancel
          </button>
        </form>
      )}
      {control.isError && <p role="alert" className="call-control-error">{control.error.message}</p>}
    </div>
  );
}

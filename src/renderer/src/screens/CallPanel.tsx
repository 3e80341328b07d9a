// The Call panel: the agent's current calls (who, state, timer) and, once a call ends, its wrap-up
// (notes, outcome from the CRM, Save) until saved or the wrap-up time runs out. Main's view model
// (src/main/call-panel) decides what is here; this only renders it. Other issue-11 screens plug
// their own components into CallCard (one line each).
import { useEffect, useState } from 'react';
import type { Disposition, PanelCall } from '../../../shared/ipc.js';
import { useCallPanel } from '../agent.js';
import { NotesForm } from './call/NotesForm.js';
import { CallRecordSection } from './call/CallRecordSection.js';
import { CallControls } from './call/CallControls.js';

const STATE_TEXT: Record<PanelCall['state'], string> = { ringing: 'Ringing', talking: 'On call', wrap_up: 'Wrap-up' };

/** Re-renders every second while mounted, for the timers. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

function clock(ms: number): string {
  const sec = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, '0')}`;
}

function Timer({ call, now }: { call: PanelCall; now: number }) {
  if (call.state === 'wrap_up' && call.wrapUpEndsAt) {
    return <span className="call-timer">Logs in {clock(Date.parse(call.wrapUpEndsAt) - now)}</span>;
  }
  const since = Date.parse(call.answeredAt ?? call.startedAt);
  return <span className="call-timer">{clock(now - since)}</span>;
}

function CallCard({ call, dispositions, now }: { call: PanelCall; dispositions: Disposition[]; now: number }) {
  const who = call.remoteName ?? call.remoteNumber;
  return (
    <li className={`card panel-call panel-${call.state}`} aria-label={`${STATE_TEXT[call.state]}: ${who}`}>
      <div className="panel-head">
        <div className="call-main">
          <span className="call-who">{who}</span>
          {call.remoteName && <span className="call-number">{call.remoteNumber}</span>}
          <span className="call-meta">
            {call.direction === 'inbound' ? 'Incoming' : 'Outgoing'}
            {call.queue ? ` · queue ${call.queue}` : ''}
          </span>
        </div>
        <div className="panel-state">
          <span className={`badge panel-badge-${call.state}`}>{STATE_TEXT[call.state]}</span>
          <Timer call={call} now={now} />
        </div>
      </div>
      <CallControls call={call} who={who} />
      <CallRecordSection callKey={call.callKey} who={who} />
      {call.state !== 'ringing' && (
        <NotesForm
          key={call.callKey}
          callKey={call.callKey}
          who={who}
          initialNotes={call.notes}
          initialDispositionId={call.dispositionId}
          dispositions={dispositions}
          drafts
        />
      )}
    </li>
  );
}

export function CallPanel() {
  const panel = useCallPanel();
  const now = useNow();
  if (panel.isPending) return <p className="loading">Loading…</p>;
  if (panel.isError) return <p role="alert">Could not load the current call: {panel.error.message}</p>;
  if (panel.data.calls.length === 0) return <p className="empty">No call right now. Calls show here while they ring, while you talk and during wrap-up.</p>;
  return (
    <ul className="panel-calls" aria-label="Current calls">
      {panel.data.calls.map((call) => (
        <CallCard key={call.callKey} call={call} dispositions={panel.data.dispositions} now={now} />
      ))}
    </ul>
  );
}

import type { CrmLogStatus, HistoryEntry } from '../../../shared/ipc.js';
import { useState } from 'react';
import { useHistory, useOpenRecord, useRetry } from '../agent.js';
import { CallNotesEditor } from './call/CallNotesEditor.js';
import { CallRecordToggle } from './call/CallRecordSection.js';

const time = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });

function duration(sec: number | null): string {
  if (sec === null) return '';
  const m = Math.floor(sec / 60);
  return `${m}:${String(sec % 60).padStart(2, '0')}`;
}

const DIRECTION: Record<HistoryEntry['direction'], string> = { inbound: 'Incoming', outbound: 'Outgoing', internal: 'Internal' };
const OUTCOME: Record<HistoryEntry['outcome'], string> = {
  ringing: 'ringing',
  answered: 'answered',
  answered_elsewhere: 'answered by a colleague',
  missed: 'missed',
  not_answered: 'not answered',
};

function CrmBadge({ crm }: { crm: CrmLogStatus }) {
  switch (crm.state) {
    case 'pending':
      return <span className="badge badge-pending">Logging…</span>;
    case 'logged':
      return <span className="badge badge-ok">Logged</span>;
    case 'recording_attached':
      return <span className="badge badge-ok">Logged · recording attached</span>;
    case 'needs_attention':
      return <span className="badge badge-bad">Needs attention</span>;
    case 'not_applicable':
      return <span className="badge badge-muted">Not logged</span>;
  }
}

function CallRow({ call }: { call: HistoryEntry }) {
  const [editing, setEditing] = useState(false);
  const retry = useRetry();
  const open = useOpenRecord();
  const who = call.remoteName ?? call.remoteNumber;
  return (
    <li className={`call call-${call.outcome}${editing ? ' call-editing' : ''}`} aria-label={`${DIRECTION[call.direction]} call, ${who}`}>
      <div className="call-main">
        <span className="call-who">{who}</span>
        {call.remoteName && <span className="call-number">{call.remoteNumber}</span>}
        <span className="call-meta">
          {DIRECTION[call.direction]} · {OUTCOME[call.outcome]} · {time.format(new Date(call.startedAt))}
          {call.durationSec ? ` · ${duration(call.durationSec)}` : ''}
        </span>
      </div>
      <div className="call-crm">
        <CrmBadge crm={call.crm} />
        {(call.crm.state === 'needs_attention' || call.crm.state === 'not_applicable') && call.crm.reason && <p className="reason">{call.crm.reason}</p>}
        <div className="call-actions">
          {call.crm.state === 'needs_attention' && (
            <button type="button" onClick={() => retry.mutate(call.callKey)} disabled={retry.isPending} aria-label={`Retry logging the call with ${who}`}>
              {retry.isPending ? 'Retrying…' : 'Retry'}
            </button>
          )}
          {call.crm.state !== 'not_applicable' && (
            <button type="button" className="link" onClick={() => setEditing(!editing)} aria-expanded={editing} aria-label={`Notes and outcome of the call with ${who}`}>
              Notes
            </button>
          )}
          {call.hasRecord && (
            <button type="button" className="link" onClick={() => open.mutate(call.callKey)} aria-label={`Open the call with ${who} in the CRM`}>
              Open in CRM
            </button>
          )}
        </div>
        {call.crm.state !== 'not_applicable' && <CallRecordToggle callKey={call.callKey} who={who} />}
        {(retry.isError || open.isError) && (
          <p role="alert" className="error">
            {(retry.error ?? open.error)?.message}
          </p>
        )}
      </div>
      {editing && (
        <div className="call-notes">
          <CallNotesEditor callKey={call.callKey} who={who} onDone={() => setEditing(false)} />
        </div>
      )}
    </li>
  );
}

export function RecentCalls() {
  const history = useHistory();
  if (history.isPending) return <p className="loading">Loading calls…</p>;
  if (history.isError) return <p role="alert">Could not load calls: {history.error.message}</p>;
  if (history.data.length === 0) return <p className="empty">No calls yet today.</p>;
  return (
    <ul className="calls" aria-label="Recent calls">
      {history.data.map((call) => (
        <CallRow key={call.callKey} call={call} />
      ))}
    </ul>
  );
}

import { useCallback, useEffect, useRef, useState } from 'react';
import type { AppState } from '../../shared/ipc.js';
import { useAgentEvents, useAppState, useCallPanel, useSignOut } from './agent.js';
import { CallPanel } from './screens/CallPanel.js';
import { CrmSignIn } from './screens/CrmSignIn.js';
import { DialBox } from './screens/DialBox.js';
import { Pairing } from './screens/Pairing.js';
import { RecentCalls } from './screens/RecentCalls.js';
import { SettingsScreen } from './screens/Settings.js';

const TABS = [
  { id: 'call', label: 'Current call' },
  { id: 'calls', label: 'Recent calls' },
  { id: 'crm', label: 'CRM' },
  { id: 'settings', label: 'Settings' },
] as const;
type TabId = (typeof TABS)[number]['id'];

const STATUS_TEXT: Record<AppState['bus'], string> = {
  unpaired: 'Not paired',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  signed_out: 'Signed out',
};

function StatusBar({ state }: { state: AppState }) {
  const signOut = useSignOut();
  const tone =
    state.saveError !== null
      ? 'warn'
      : state.bus === 'connected'
        ? state.doNotDisturb
          ? 'dnd'
          : 'ok'
        : state.bus === 'reconnecting' || state.bus === 'connecting'
          ? 'warn'
          : 'off';
  return (
    <header className="status-bar">
      <div>
        <h1>Ringbridge</h1>
        {state.agent && (
          <p className="who">
            {state.agent.name} · ext. {state.agent.extension}
          </p>
        )}
      </div>
      <div className="status-right">
        <span role="status" aria-label="Connection" className={`pill pill-${tone}`}>
          {state.saveError !== null ? "Can't save calls" : STATUS_TEXT[state.bus]}
          {state.bus === 'connected' && state.doNotDisturb ? ' · Do not disturb' : ''}
        </span>
        {state.agent && (
          <button type="button" className="link" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
            Sign out
          </button>
        )}
      </div>
      {state.detail && <p className="detail">{state.detail}</p>}
      {state.saveError !== null && (
        <p className="detail" role="alert">
          Can&apos;t save calls: {state.saveError}. Ringbridge keeps them waiting and catches up as soon as it can write again.
        </p>
      )}
    </header>
  );
}

/** A call on the panel when the window opens, or arriving later, brings its tab forward. */
function useOpenCallPanelOnNewCall(open: () => void): void {
  const panel = useCallPanel();
  const seen = useRef<Set<string> | null>(null);
  // The keys as one string: a new array every render must not re-run the effect.
  const joined = panel.data?.calls.map((c) => c.callKey).join('\n');
  useEffect(() => {
    if (joined === undefined) return;
    const keys = joined ? joined.split('\n') : [];
    const before = seen.current;
    seen.current = new Set(keys);
    if (before ? keys.some((k) => !before.has(k)) : keys.length > 0) open();
  }, [joined, open]);
}

export function App() {
  const state = useAppState();
  const [tab, setTab] = useState<TabId>('calls');
  const showCallPanel = useCallback(() => setTab('call'), []);
  useOpenCallPanelOnNewCall(showCallPanel);
  const dialInput = useRef<HTMLInputElement>(null);
  const focusDialBox = useCallback(() => dialInput.current?.focus(), []);
  useAgentEvents(focusDialBox, showCallPanel);

  if (state.isPending) return <p className="loading">Loading…</p>;
  if (state.isError) return <p role="alert">Ringbridge could not read its state: {state.error.message}</p>;
  if (state.data.bus === 'unpaired' || state.data.bus === 'signed_out') {
    return (
      <main className="app">
        <StatusBar state={state.data} />
        <Pairing defaultBusUrl={state.data.busUrl} />
      </main>
    );
  }
  return (
    <main className="app">
      <StatusBar state={state.data} />
      <DialBox inputRef={dialInput} />
      <nav role="tablist" aria-label="Sections" className="tabs">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </nav>
      <section role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="panel">
        {tab === 'call' && <CallPanel />}
        {tab === 'calls' && <RecentCalls />}
        {tab === 'crm' && <CrmSignIn />}
        {tab === 'settings' && <SettingsScreen />}
      </section>
    </main>
  );
}

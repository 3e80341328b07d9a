// React hooks over window.agent. Queries hold what main last said; main's pushes (on*) update
// them, so the window never polls.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import type { CrmId } from '../../shared/crm.js';
import type { CallNotes, Settings, SettingsPatch } from '../../shared/ipc.js';

const agent = () => window.agent;

export const keys = {
  state: ['state'] as const,
  settings: ['settings'] as const,
  history: ['history'] as const,
  crm: ['crm'] as const,
  callPanel: ['callPanel'] as const,
};

/** Subscribes once to main's pushes and feeds them into the query cache. */
export function useAgentEvents(onDialBoxRequested: () => void, onCallPanelRequested: () => void): void {
  const client = useQueryClient();
  useEffect(() => {
    const offs = [
      agent().onStateChanged((state) => client.setQueryData(keys.state, state)),
      agent().onSettingsChanged((settings) => client.setQueryData(keys.settings, settings)),
      agent().onCrmStatusChanged((status) => client.setQueryData(keys.crm, status)),
      agent().onHistoryChanged(() => void client.invalidateQueries({ queryKey: keys.history })),
      agent().onDialBoxRequested(onDialBoxRequested),
      agent().onCallPanelChanged((panel) => client.setQueryData(keys.callPanel, panel)),
      agent().onCallPanelRequested(onCallPanelRequested),
    ];
    return () => offs.forEach((off) => off());
  }, [client, onDialBoxRequested, onCallPanelRequested]);
}

export const useAppState = () => useQuery({ queryKey: keys.state, queryFn: () => agent().getState() });
export const useSettings = () => useQuery({ queryKey: keys.settings, queryFn: () => agent().getSettings() });
export const useHistory = () => useQuery({ queryKey: keys.history, queryFn: () => agent().listHistory() });
export const useCallPanel = () => useQuery({ queryKey: keys.callPanel, queryFn: () => agent().getCallPanel() });
export const useCallNotes = (callKey: string) => useQuery({ queryKey: ['callNotes', callKey], queryFn: () => agent().getCallNotes(callKey) });

/** Saves a call's notes and outcome (a draft, or `done`: Save); the panel follows by push. */
export function useSaveCallNotes() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (notes: CallNotes) => agent().saveCallNotes(notes),
    onSuccess: (_none, { callKey }) => client.invalidateQueries({ queryKey: ['callNotes', callKey] }),
  });
}
export const useCrmStatus = () => useQuery({ queryKey: keys.crm, queryFn: () => agent().crmStatus() });

export function usePair() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ busUrl, code }: { busUrl: string; code: string }) => agent().pair(busUrl, code),
    onSuccess: (state) => client.setQueryData(keys.state, state),
  });
}

export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => agent().signOut(),
    onSuccess: (state) => client.setQueryData(keys.state, state),
  });
}

/**
 * Saves a settings change. The cache is updated synchronously in the event handler, so a
 * controlled checkbox never flickers back; main's answer, or the old value on error, settles it.
 */
export function useSaveSettings() {
  const client = useQueryClient();
  // Saves can overlap; only the newest one's answer (or failure) may touch the cache.
  const newest = useRef(0);
  const mutation = useMutation({
    mutationFn: ({ patch }: { patch: SettingsPatch; before: Settings | undefined; seq: number }) => agent().setSettings(patch),
    onError: (_err, { before, seq }) => {
      if (before && seq === newest.current) client.setQueryData(keys.settings, before);
    },
    onSuccess: (settings, { seq }) => {
      if (seq === newest.current) client.setQueryData(keys.settings, settings);
    },
  });
  const save = (patch: SettingsPatch) => {
    const before = client.getQueryData<Settings>(keys.settings);
    if (before) client.setQueryData<Settings>(keys.settings, { ...before, ...patch, notification: { ...before.notification, ...patch.notification } });
    mutation.mutate({ patch, before, seq: ++newest.current });
  };
  return { save, isError: mutation.isError, isSuccess: mutation.isSuccess, error: mutation.error };
}

export function useRetry() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (callKey: string) => agent().retryHistory(callKey),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.history }),
  });
}

export const useOpenRecord = () => useMutation({ mutationFn: (callKey: string) => agent().openCallRecord(callKey) });
export const useDial = () => useMutation({ mutationFn: (number: string) => agent().dial(number) });

export function useCrmSignIn() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ crmId, signIn }: { crmId: CrmId; signIn: boolean }) =>
      signIn ? agent().crmSignIn(crmId) : agent().crmSignOut(crmId),
    onSuccess: (status) => client.setQueryData(keys.crm, status),
  });
}

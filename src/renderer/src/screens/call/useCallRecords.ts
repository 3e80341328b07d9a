// Hooks over window.agent for a call's CRM record: the picker's view and the three actions, each
// answering with the new view (kept in the query cache, so every place showing the call agrees).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { CallRecords } from '../../../../shared/ipc.js';

const recordsKey = (callKey: string) => ['callRecords', callKey] as const;

/** Deals come from the CRM: asked again after half a minute at most, not on every render. */
export const useCallRecords = (callKey: string) =>
  useQuery({ queryKey: recordsKey(callKey), queryFn: () => window.agent.getCallRecords(callKey), staleTime: 30_000 });

type Action = { kind: 'record'; id: string } | { kind: 'deal'; id: string | null } | { kind: 'create'; name: string };

export function useCallRecordAction(callKey: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (action: Action): Promise<CallRecords> => {
      if (action.kind === 'record') return window.agent.pickCallRecord(callKey, action.id);
      if (action.kind === 'deal') return window.agent.pickCallDeal(callKey, action.id);
      return window.agent.createCallRecord(callKey, action.name);
    },
    onSuccess: (view) => client.setQueryData(recordsKey(callKey), view),
  });
}

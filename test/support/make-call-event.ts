// Builds valid CallEvents for tests of the log and the fan-out.
import type { CallEvent } from '../../src/shared/call-event.js';

let counter = 0;

export function makeCallEvent(overrides: Partial<CallEvent> = {}): CallEvent {
  counter += 1;
  const extension = overrides.agents?.[0] ?? '101';
  return {
    v: 1,
    id: `evt_test_${process.pid}_${counter}`,
    tenantId: 't_test',
    pbxId: 'pbx_test',
    pbxCallId: `call_${counter}`,
    type: 'ringing',
    direction: 'inbound',
    caller: { raw: '0298765432', e164: '+61298765432', name: 'Jane Citizen', extension: null },
    callee: { raw: extension, e164: null, name: null, extension },
    extensions: [extension],
    queue: null,
    agents: [extension],
    pbxTime: new Date().toISOString(),
    receivedAt: new Date().toISOString(),
    durationSec: null,
    recording: null,
    source: 'webhook',
    ...overrides,
  };
}

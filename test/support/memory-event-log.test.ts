import { describeEventLogContract } from './log-contract.js';
import { createMemoryEventLog } from './memory-event-log.js';

describeEventLogContract('memory', { persistent: false }, async () => ({
  open: async () => createMemoryEventLog(),
  wipe: async () => {},
  dispose: async () => {},
}));

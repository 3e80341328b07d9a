import { describeEventLogContract } from '../contract.js';
import { createMemoryEventLog } from './index.js';

describeEventLogContract('memory', { persistent: false }, async () => ({
  open: async () => createMemoryEventLog(),
  wipe: async () => {},
  dispose: async () => {},
}));

// Serialises bus -> agent frames. Event frames are built by hand from the already-validated event
// so the hot path stringifies each event at most once, whatever the number of receiving sessions,
// and not at all when the log hands over the JSON it stored.
import type { z } from 'zod';
import type {
  CallControlResultFrame,
  DialResultFrame,
  PresenceResultFrame,
  ErrorCode,
  RecordingUrlFrame,
  ResyncFrame,
  WelcomeFrame,
} from '../../shared/agent-protocol.js';
import type { LoggedEvent } from '../log/port.js';

export function eventFrame(logged: LoggedEvent, epoch: string, replay: boolean): string {
  return `{"t":"event","offset":${logged.offset},"epoch":${JSON.stringify(epoch)},"replay":${replay},"event":${logged.json ?? JSON.stringify(logged.event)}}`;
}

type Frame =
  | z.infer<typeof WelcomeFrame>
  | z.infer<typeof ResyncFrame>
  | z.infer<typeof DialResultFrame>
  | z.infer<typeof RecordingUrlFrame>
  | z.infer<typeof CallControlResultFrame>
  | z.infer<typeof PresenceResultFrame>
  | { t: 'pong' }
  | { t: 'error'; code: ErrorCode; message: string; reqId?: string };

export function frame(f: Frame): string {
  return JSON.stringify(f);
}

export const PONG = frame({ t: 'pong' });

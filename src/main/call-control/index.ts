/**
 * Call control and presence for the agent (issue 11 items 7, 9).
 *
 * - `new OwnCalls(transport)`: `observe(event, extension)` for every bus event; `act(callKey,
 *   'answer'|'hangup'|'transfer', destination)` sends it to the bus for a call in progress on this
 *   extension, else throws CallControlError. 3CX Call Control has no hold/resume.
 * - `new PresenceWatch(transport, onError)`: `connected(bool)`, `presence`, `changed`, `setDnd(on)`.
 */
export { OwnCalls, PresenceWatch, CallControlError, type LineTransport } from './call-control.js';

/**
 * Click-to-dial.
 *
 * - `parseDialInput(raw, defaultCountry)` -> `{ ok: true, e164, display, extension } | { ok: false, code, reason }`:
 *   RFC 3966 `tel:`, `callto:` (incl. `callto://`, `?call`), typed numbers; never throws.
 * - `new DialController({ transport, confirm, feedback, policy, logger }).dial(raw)`: parse ->
 *   confirm (when policy().confirmBeforeDial) -> `transport.dial(e164)` (the bus client) ->
 *   `feedback.dialFeedback({ kind: 'refused' | 'cancelled' | 'placed' | 'failed', ... })`.
 *   The glue calls it from `open-url`, `second-instance` argv, the tray and the window's dial box.
 */
export { parseDialInput, type ParsedDial, type DialRefusal } from './parse.js';
export {
  DialController,
  type ConfirmPort,
  type FeedbackPort,
  type DialFeedback,
  type DialTransport,
  type DialResult,
  type DialControllerOptions,
} from './controller.js';

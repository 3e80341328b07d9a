/**
 * The agent's link to the bus.
 *
 * - `pair(busUrl, code, { secrets, store, fetch? }): Promise<PairedAgent>` — throws `PairingError`
 *   with a sentence for the window; stores the device token in the SecretStore only.
 * - `loadPairing({ secrets, store })`, `forgetPairing({ secrets, store })`.
 * - `new BusClient({ wsUrl, token, store, logger, backoff?, heartbeatMs?, requestTimeoutMs? })`:
 *   `start()`, `stop()`, `state`, `onEvent(fn(BusEvent{offset,epoch,replay,event}) => void|Promise)`
 *   (acked after fn settles; a throw holds the event unacked and it is retried with backoff),
 *   `stalled` / `onStalled(fn(reason|null))` (why the stream is held), `onState(fn)`, `onResync(fn)`, `onWelcome(fn)`,
 *   `dial(e164): Promise<DialResult>`, `requestRecording(eventId): Promise<{url, expiresAt}>`,
 *   `controlCall(pbxCallId, 'answer'|'hangup'|'transfer', destination?)`, `presence(dnd?): Promise<Presence>`.
 * States: 'unpaired' | 'connecting' | 'connected' | 'reconnecting' | 'signed_out'.
 */
export {
  BusClient,
  BusRequestError,
  type BusClientOptions,
  type BusEvent,
  type ConnectionState,
  type DialResult,
  type RecordingUrl,
  type Resync,
  type Welcome,
} from './client.js';
export {
  pair,
  loadPairing,
  forgetPairing,
  PairingError,
  PairedAgentSchema,
  type PairedAgent,
  type PairDeps,
} from './pairing.js';

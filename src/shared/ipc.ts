// The agent's IPC contract: every call the window can make into main, and every event main
// pushes to the window, with zod schemas for both directions. The preload, main's validated
// handler wrapper, the renderer hooks and the test bridge are all typed from these two tables;
// channel names exist only here.
import { z } from 'zod';
import { CallActionSchema, CreateRecordPolicySchema, PresenceSchema } from './agent-protocol.js';
import { DialShortcutSchema } from './accelerator.js';
import { BusUrlSchema } from './bus-url.js';
import { CrmLogState, HistoryOutcome } from './call-history.js';
import { CrmIdSchema } from './crm.js';
import { CountryCodeSchema } from './phone.js';

// ---- shared shapes ----

export const BusStateSchema = z.enum(['unpaired', 'connecting', 'connected', 'reconnecting', 'signed_out']);
export type BusState = z.infer<typeof BusStateSchema>;

export const AppStateSchema = z.object({
  bus: BusStateSchema,
  /** The bus this agent is paired with; null before pairing. */
  busUrl: z.string().nullable(),
  /** Who the bus says we are; null before pairing or after sign-out. */
  agent: z
    .object({ name: z.string(), extension: z.string(), tenantId: z.string() })
    .nullable(),
  doNotDisturb: z.boolean(),
  /** A short, human reason for the current bus state (e.g. "revoked by the administrator"). */
  detail: z.string().nullable(),
  /** Why calls cannot be saved right now (a failed write, e.g. a full disk); null while they can. */
  saveError: z.string().max(500).nullable(),
  /** The agent's 3CX status (profile, DND) while connected and known; `doNotDisturb` includes its DND. */
  presence: PresenceSchema.nullish(),
});
export type AppState = z.infer<typeof AppStateSchema>;

/** Window-facing settings; src/main/settings stores the same shape with defaults. */
export const SettingsSchema = z.object({
  defaultCountry: CountryCodeSchema,
  confirmBeforeDial: z.boolean(),
  doNotDisturb: z.boolean(),
  startAtLogin: z.boolean(),
  /** How screen-pops behave: the system sound, and whether the caller's company is shown. */
  notification: z.object({ sound: z.boolean(), showCompany: z.boolean() }),
  /** After-call work: how long the Call panel keeps an ended call open for notes before it is logged (0 = log at once). */
  wrapUpSec: z.number().int().min(0).max(3600),
  /** When a call pops: as it rings (default), once this agent answers it, or never. */
  popMode: z.enum(['ring', 'answer', 'off']),
  /** The global shortcut that dials the number on the clipboard (an Electron accelerator; '' = none). */
  dialShortcut: DialShortcutSchema,
});
export type Settings = z.infer<typeof SettingsSchema>;
export const SettingsPatchSchema = SettingsSchema.extend({
  notification: SettingsSchema.shape.notification.partial().strict(),
})
  .partial()
  .strict();
export type SettingsPatch = z.infer<typeof SettingsPatchSchema>;

/** Where the call's CRM log stands, with the why where there is one: what the Recent calls list shows per call. */
export const CrmLogStatusSchema = z.discriminatedUnion('state', [
  z.object({ state: CrmLogState.exclude(['needs_attention', 'not_applicable']) }),
  z.object({ state: CrmLogState.extract(['needs_attention']), reason: z.string().max(500) }),
  /** Nothing to log (internal call, no CRM connected); `reason` says which. */
  z.object({ state: CrmLogState.extract(['not_applicable']), reason: z.string().max(500).nullable() }),
]);
export type CrmLogStatus = z.infer<typeof CrmLogStatusSchema>;

export const HistoryEntrySchema = z.object({
  callKey: z.string().min(1).max(300),
  direction: z.enum(['inbound', 'outbound', 'internal']),
  outcome: HistoryOutcome,
  /** Display form of the other party's number (or extension). */
  remoteNumber: z.string().max(64),
  remoteName: z.string().max(200).nullable(),
  startedAt: z.string().datetime({ offset: true }),
  durationSec: z.number().int().nonnegative().nullable(),
  crm: CrmLogStatusSchema,
  /** True when the CRM record exists, so "Open in CRM" makes sense. */
  hasRecord: z.boolean(),
  hasRecording: z.boolean(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export const CrmStatusSchema = z.object({
  crms: z.array(
    z.object({
      id: CrmIdSchema,
      displayName: z.string(),
      /** not_configured: this build has no OAuth client id for the CRM, so it cannot be signed in to. */
      state: z.enum(['signed_out', 'signed_in', 'needs_sign_in', 'not_configured']),
      /** The CRM account or user signed in, when known. */
      account: z.string().nullable(),
      /** Why a new sign-in is needed, in the CRM's words. */
      detail: z.string().max(500).optional(),
    }),
  ),
});
export type CrmStatus = z.infer<typeof CrmStatusSchema>;

export const DialResultSchema = z.object({
  status: z.enum(['dialling', 'cancelled']),
  /** The number as sent to the PBX. */
  e164: z.string().nullable(),
});
export type DialResult = z.infer<typeof DialResultSchema>;

const CallKey = z.string().min(1).max(300);
/** Anything a person may type or a link may carry; the dial capability decides what is dialable. */
const RawNumber = z.string().min(1).max(256);

// ---- the Call panel (issue 11): the agent's current calls and their wrap-up ----

/** Notes the agent types for a call: they go into the CRM's own notes field. */
export const CALL_NOTES_MAX = 5000;
export const DispositionIdSchema = z.string().min(1).max(100);

/** One call on the Call panel: ringing, talking, or ended and in wrap-up (notes, outcome, Save). */
export const PanelCallSchema = z.object({
  callKey: CallKey,
  direction: z.enum(['inbound', 'outbound']),
  /** Display form of the other party's number. */
  remoteNumber: z.string().max(64),
  remoteName: z.string().max(200).nullable(),
  queue: z.string().max(200).nullable(),
  state: z.enum(['ringing', 'talking', 'wrap_up']),
  startedAt: z.string().datetime({ offset: true }),
  answeredAt: z.string().datetime({ offset: true }).nullable(),
  endedAt: z.string().datetime({ offset: true }).nullable(),
  /** When wrap-up ends by itself and the call is logged with what is typed; null outside wrap-up. */
  wrapUpEndsAt: z.string().datetime({ offset: true }).nullable(),
  notes: z.string().max(CALL_NOTES_MAX),
  dispositionId: DispositionIdSchema.nullable(),
});
export type PanelCall = z.infer<typeof PanelCallSchema>;

const RecordId = z.string().min(1).max(200);
export { CreateRecordPolicySchema };
export type { CreateRecordPolicy } from './agent-protocol.js';

/**
 * A call's CRM record as the agent may set it (issue 11): the records sharing the caller's number
 * and the one the call is logged to (picked by the agent, remembered for the number, or by policy),
 * its open deals and the one picked, and whether a new caller's record may be created.
 */
export const CallRecordsSchema = z.object({
  e164: z.string().max(20).nullable(),
  candidates: z
    .array(z.object({ id: RecordId, kind: z.string().max(60), name: z.string().max(300), company: z.string().max(300).nullable() }))
    .max(100),
  chosenId: RecordId.nullable(),
  chosenBy: z.enum(['agent', 'remembered', 'policy']).nullable(),
  deals: z.array(z.object({ id: RecordId, kind: z.string().max(60), name: z.string().max(300), stage: z.string().max(200).nullable() })).max(20),
  dealId: RecordId.nullable(),
  dealsError: z.string().max(300).nullable(),
  /** 'off' also when the number has records or no CRM is connected. */
  create: CreateRecordPolicySchema,
});
export type CallRecords = z.infer<typeof CallRecordsSchema>;

/** A call outcome as the connected CRM defines it (HubSpot's account dispositions, Salesforce's CallDisposition...). */
export const DispositionSchema = z.object({ id: DispositionIdSchema, label: z.string().min(1).max(200) });
export type Disposition = z.infer<typeof DispositionSchema>;

export const CallPanelSchema = z.object({
  calls: z.array(PanelCallSchema).max(20),
  /** The connected CRM's outcomes; empty while none is connected (notes still go with the log). */
  dispositions: z.array(DispositionSchema).max(200),
});
export type CallPanel = z.infer<typeof CallPanelSchema>;

/**
 * Notes and outcome for a call. `done: false` is a draft while typing (kept on disk, logged later);
 * `done: true` is Save: it ends wrap-up and writes the log, or updates a call logged already.
 */
export const CallNotesSchema = z
  .object({ callKey: CallKey, notes: z.string().max(CALL_NOTES_MAX), dispositionId: DispositionIdSchema.nullable(), done: z.boolean() })
  .strict();
export type CallNotes = z.infer<typeof CallNotesSchema>;

// ---- the tables ----

/** window -> main calls. `request` is the argument tuple, so the preload methods are positional. */
export const invokeContract = {
  getState: { request: z.tuple([]), response: AppStateSchema },
  pair: { request: z.tuple([BusUrlSchema, z.string().trim().min(6).max(64)]), response: AppStateSchema },
  signOut: { request: z.tuple([]), response: AppStateSchema },
  getSettings: { request: z.tuple([]), response: SettingsSchema },
  setSettings: { request: z.tuple([SettingsPatchSchema]), response: SettingsSchema },
  listHistory: { request: z.tuple([]), response: z.array(HistoryEntrySchema).max(1000) },
  retryHistory: { request: z.tuple([CallKey]), response: z.null() },
  openCallRecord: { request: z.tuple([CallKey]), response: z.null() },
  dial: { request: z.tuple([RawNumber]), response: DialResultSchema },
  crmStatus: { request: z.tuple([]), response: CrmStatusSchema },
  crmSignIn: { request: z.tuple([CrmIdSchema]), response: CrmStatusSchema },
  crmSignOut: { request: z.tuple([CrmIdSchema]), response: CrmStatusSchema },
  getCallPanel: { request: z.tuple([]), response: CallPanelSchema },
  /** Answer, hang up or transfer (to an extension or number) a call of the agent's own extension, through the bus. */
  controlCall: { request: z.tuple([CallKey, CallActionSchema, z.string().trim().min(1).max(64).nullable()]), response: z.null() },
  /** A call's notes and outcome as saved (the Recent calls row edits them after the log). */
  getCallNotes: { request: z.tuple([CallKey]), response: CallNotesSchema.omit({ done: true }) },
  saveCallNotes: { request: z.tuple([CallNotesSchema]), response: z.null() },
  getCallRecords: { request: z.tuple([CallKey]), response: CallRecordsSchema },
  pickCallRecord: { request: z.tuple([CallKey, RecordId]), response: CallRecordsSchema },
  pickCallDeal: { request: z.tuple([CallKey, RecordId.nullable()]), response: CallRecordsSchema },
  /** A name for the new record (may be empty: named after the number where the CRM needs one). */
  createCallRecord: { request: z.tuple([CallKey, z.string().trim().max(120)]), response: CallRecordsSchema },
} as const;

/** main -> window pushes. Each becomes an `on<Name>(listener)` method returning its unsubscribe. */
export const eventContract = {
  stateChanged: { payload: AppStateSchema },
  settingsChanged: { payload: SettingsSchema },
  historyChanged: { payload: z.null() },
  crmStatusChanged: { payload: CrmStatusSchema },
  /** The tray's "Dial number…" asks the window to focus its dial box. */
  dialBoxRequested: { payload: z.null() },
  callPanelChanged: { payload: CallPanelSchema },
  /** A pop was clicked: the window shows the Call panel. */
  callPanelRequested: { payload: z.null() },
} as const;

export type InvokeName = keyof typeof invokeContract;
export type EventName = keyof typeof eventContract;
/** Argument tuple as the handler receives it (and as the window must send it). */
export type InvokeArgs<K extends InvokeName> = z.output<(typeof invokeContract)[K]['request']>;
export type InvokeResponse<K extends InvokeName> = z.output<(typeof invokeContract)[K]['response']>;
export type EventPayload<K extends EventName> = z.output<(typeof eventContract)[K]['payload']>;

export const invokeNames = Object.keys(invokeContract) as InvokeName[];
export const eventNames = Object.keys(eventContract) as EventName[];

export function invokeChannel<K extends InvokeName>(name: K): `rb:invoke:${K}` {
  return `rb:invoke:${name}`;
}
export function eventChannel<K extends EventName>(name: K): `rb:event:${K}` {
  return `rb:event:${name}`;
}

export type EventMethodName<K extends EventName> = `on${Capitalize<K>}`;
export function eventMethodName<K extends EventName>(name: K): EventMethodName<K> {
  return `on${name.charAt(0).toUpperCase()}${name.slice(1)}` as EventMethodName<K>;
}

// ---- what crosses the wire for an invoke ----

export const IpcErrorCodeSchema = z.enum([
  /** Arguments failed the contract. */
  'invalid_request',
  /** The caller is not our window's main frame. */
  'forbidden',
  /** The capability exists in the contract but is not set up in this build (e.g. a CRM without a client id). */
  'not_configured',
  /** The action was refused or failed; `message` says why in words for the user. */
  'failed',
]);
export type IpcErrorCode = z.infer<typeof IpcErrorCodeSchema>;

export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: { code: IpcErrorCode; message: string } };

/** An error a handler throws to give the window a specific code and a message meant for people. */
export class AgentIpcError extends Error {
  constructor(
    readonly code: IpcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AgentIpcError';
  }
}

// ---- the API object the preload exposes as window.agent ----

export type Unsubscribe = () => void;

export type AgentApi = {
  [K in InvokeName]: (...args: InvokeArgs<K>) => Promise<InvokeResponse<K>>;
} & {
  [K in EventName as EventMethodName<K>]: (listener: (payload: EventPayload<K>) => void) => Unsubscribe;
};

// What a 3CX V20 PBX answers, parsed leniently: fields 3CX may omit default to empty, unknown
// fields pass through untouched (src/sim/3cx/NOTES.md 1.2, 2.3, 2.4, 3.2).
import { z } from 'zod';

export const TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
  token_type: z.string().optional(),
});

export const TokenErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

const text = z.string().nullish().transform((v) => v ?? '');
const intLike = z.union([z.number(), z.string()]).transform((v) => String(v));

export const CallParticipantSchema = z.looseObject({
  id: z.number().int(),
  status: text,
  dn: text,
  party_caller_name: text,
  party_dn: text,
  party_caller_id: text,
  party_did: text,
  device_id: text,
  party_dn_type: text,
  originated_by_dn: text,
  referred_by_dn: text,
  on_behalf_of_dn: text,
  on_behalf_of_type: text,
  callid: intLike,
  legid: intLike.optional(),
});
export type CallParticipant = z.infer<typeof CallParticipantSchema>;

export const DnDeviceSchema = z.looseObject({ dn: text, device_id: z.string().min(1), user_agent: text });
export type DnDevice = z.infer<typeof DnDeviceSchema>;

export const DnInfoSchema = z.looseObject({
  dn: z.string(),
  type: text,
  devices: z.array(DnDeviceSchema).nullish().transform((v) => v ?? []),
  participants: z.array(CallParticipantSchema).nullish().transform((v) => v ?? []),
});
export type DnInfo = z.infer<typeof DnInfoSchema>;

/**
 * Official TS types `finalstatus` as CallRequestStatus (-1 Failed, 0 Rejected, 1 Success); the XAPI
 * swagger as a string. Accept both, and the PascalCase keys of the swagger shape.
 */
export const CallControlResultSchema = z
  .looseObject({
    finalstatus: z.union([z.number(), z.string()]).optional(),
    FinalStatus: z.union([z.number(), z.string()]).optional(),
    reason: z.string().nullish(),
    Reason: z.string().nullish(),
    reasontext: z.string().nullish(),
    ReasonText: z.string().nullish(),
    result: z.looseObject({ callid: intLike.optional(), id: z.number().optional() }).nullish(),
    Result: z.looseObject({ CallId: intLike.optional(), callid: intLike.optional() }).nullish(),
  })
  .transform((r) => {
    const status = r.finalstatus ?? r.FinalStatus;
    const callId = r.result?.callid ?? r.Result?.CallId ?? r.Result?.callid ?? null;
    return {
      success: status === 1 || (typeof status === 'string' && /^(success|1)$/i.test(status.trim())),
      reason: r.reasontext || r.ReasonText || r.reason || r.Reason || null,
      pbxCallId: callId,
    };
  });

export const WsEventSchema = z.object({
  sequence: z.number().optional(),
  event: z.object({
    event_type: z.number().int(),
    entity: z.string(),
    attached_data: z.unknown().optional(),
  }),
});
export const WS_UPSERT = 0;
export const WS_REMOVE = 1;

/** `/callcontrol/{dn}/{collection}/{id}` as the official `determineOperation` splits it. */
export function parseEntity(entity: string): { dn: string; collection: string; id: string } | null {
  const m = /^\/callcontrol\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(entity);
  return m ? { dn: decodeURIComponent(m[1]!), collection: m[2]!, id: decodeURIComponent(m[3]!) } : null;
}

export const XapiRecordingSchema = z.looseObject({
  Id: z.number().int(),
  StartTime: z.string().nullish(),
  EndTime: z.string().nullish(),
  FromDn: text,
  FromCallerNumber: text,
  ToDn: text,
  ToCallerNumber: text,
  /** int32 in the swagger; 0 (its example default) and null mean "not filled". */
  RefParticipantId: z.number().int().nullish(),
  /** V20: 3CX's own transcript and AI summary of the recording (swagger Pbx.Recording), once it made them. */
  Transcription: z.string().nullish(),
  Summary: z.string().nullish(),
});
export type XapiRecording = z.infer<typeof XapiRecordingSchema>;

/** ISO 8601 duration (`PT1M5.25S`, the form the swagger's pattern allows) in seconds; null when unreadable. */
export function isoDurationSeconds(text: string): number | null {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m) return null;
  const [, d = '0', h = '0', min = '0', sec = '0'] = m;
  return Number(d) * 86_400 + Number(h) * 3_600 + Number(min) * 60 + Number(sec);
}

const Duration = z.string().nullish().transform((v) => (v ? isoDurationSeconds(v) : null));

/**
 * A row of XAPI ReportCallLogData/Pbx.GetCallLogData (swagger `Pbx.CallLogData`, NOTES 3.1): one
 * segment of a call as the PBX's call log has it once the segment ended. Only what the reconciler reads.
 */
export const XapiCallLogRowSchema = z.looseObject({
  CallId: z.number().int(),
  StartTime: z.string().nullish(),
  RingingDuration: Duration,
  TalkingDuration: Duration,
  Answered: z.boolean().nullish(),
  /** `Inbound` | `Outbound` | `Internal` as a live V20 PBX answered [COMMUNITY]. */
  Direction: text,
  /** `Queue` when the call came through one (its DN in actionDnDn) [COMMUNITY]. */
  CallType: text,
  actionDnDn: text,
  SourceDn: text,
  SourceCallerId: text,
  SourceDisplayName: text,
  DestinationDn: text,
  DestinationCallerId: text,
  DestinationDisplayName: text,
});
export type XapiCallLogRow = z.infer<typeof XapiCallLogRowSchema>;

export const XapiCollectionSchema = <T extends z.ZodType>(item: T) => z.object({ value: z.array(item) });

/** XAPI `Pbx.User`, the fields presence reads (swagger: all nullable). */
export const XapiUserSchema = z.looseObject({
  Id: z.number().int(),
  Number: text,
  CurrentProfileName: text,
  QueueStatus: z.enum(['LoggedIn', 'LoggedOut']).nullish().transform((v) => v ?? null),
  ForwardingProfiles: z.array(z.looseObject({ Name: text })).nullish().transform((v) => v ?? []),
});
export type XapiUser = z.infer<typeof XapiUserSchema>;

/** XAPI `Pbx.Queue`: the number calls carry (`CallEvent.queue`) and the name agents know it by. */
export const XapiQueueSchema = z.looseObject({ Number: text, Name: text });

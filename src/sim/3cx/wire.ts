// The 3CX V20 wire shapes the simulator speaks, as NOTES.md (beside this file) records them:
// Call Control is snake_case (2.3), XAPI is PascalCase OData (3.2).

export type DnType = 'Wextension' | 'Wroutepoint' | 'Wqueue' | 'Wivr' | 'Wexternalline';
export type ParticipantStatus = 'Ringing' | 'Dialing' | 'Connected';

/** Call Control `CallParticipant` (NOTES 2.3). */
export interface CallParticipant {
  id: number;
  status: ParticipantStatus;
  dn: string;
  party_caller_name: string;
  party_dn: string;
  party_caller_id: string;
  party_did: string;
  device_id: string;
  party_dn_type: DnType;
  direct_control: boolean;
  originated_by_dn: string;
  originated_by_type: string;
  referred_by_dn: string;
  referred_by_type: string;
  on_behalf_of_dn: string;
  on_behalf_of_type: string;
  callid: number;
  legid: number;
}

export interface DnDevice {
  dn: string;
  device_id: string;
  user_agent: string;
}

export interface DnInfo {
  dn: string;
  type: DnType;
  devices: DnDevice[];
  participants: CallParticipant[];
}

/** Official enum CallRequestStatus { Failed = -1, Rejected = 0, Success = 1 }. */
export interface CallControlResultResponse {
  finalstatus: -1 | 0 | 1;
  reason: string;
  reasontext: string;
  result: CallParticipant | null;
}

export const WS_EVENT_UPSERT = 0;
export const WS_EVENT_REMOVE = 1;

export interface WsEventMessage {
  sequence: number;
  event: { event_type: number; entity: string; attached_data: Record<string, unknown> };
}

/** XAPI `Pbx.Recording` (the fields the simulator fills). */
export interface XapiRecording {
  Id: number;
  StartTime: string;
  EndTime: string;
  CallType: 'Local' | 'InboundExternal' | 'OutboundExternal';
  FromDn: string;
  FromDnType: number;
  FromCallerNumber: string;
  FromDisplayName: string;
  FromDidNumber: string;
  FromIdParticipant: number;
  ToDn: string;
  ToDnType: number;
  ToCallerNumber: string;
  ToDisplayName: string;
  ToDidNumber: string;
  ToIdParticipant: number;
  RefParticipantId: number | null;
  RecordingUrl: string;
  IsArchived: boolean;
  ArchivedUrl: string | null;
  CanBeTranscribed: boolean;
  IsTranscribed: boolean;
  /** V20: 3CX's transcript and AI summary of the recording, once made (swagger Pbx.Recording). */
  Transcription?: string | null;
  Summary?: string | null;
}

/**
 * XAPI `Pbx.CallLogData` (NOTES 3.1): one row of ReportCallLogData/Pbx.GetCallLogData per agent leg,
 * written when the leg ends. Durations are ISO 8601 (`PT1M5S`). Values of Direction, CallType and
 * Status are the ones a live V20 PBX answered in a published probe [COMMUNITY]; that CallId is the
 * Call Control callid is [UNCONFIRMED] (the simulator makes it so).
 */
export interface XapiCallLogRow {
  CallId: number;
  CdrId: string;
  CallHistoryId: string;
  MainCallHistoryId: string;
  SegmentId: number;
  Indent: number;
  StartTime: string;
  RingingDuration: string;
  TalkingDuration: string;
  Answered: boolean;
  Status: 'Answered' | 'Unanswered';
  Direction: 'Inbound' | 'Outbound';
  CallType: 'Extension' | 'Queue';
  Reason: string | null;
  SourceDn: string;
  SourceType: number;
  SourceCallerId: string;
  SourceDisplayName: string;
  DestinationDn: string;
  DestinationType: number;
  DestinationCallerId: string;
  DestinationDisplayName: string;
  actionDnDn: string | null;
  ActionDnType: number | null;
  ActionDnCallerId: string | null;
  ActionDnDisplayName: string | null;
  ActionType: number | null;
  SrcRecId: number | null;
  DstRecId: number | null;
  RecordingUrl: string | null;
  Recordings: Array<{ Id: number; SentimentScore: number | null; Summary: string | null; Transcription: string | null }>;
  Transcription: string | null;
  Summary: string | null;
  SentimentScore: number | null;
  CallCost: number | null;
  QualityReport: boolean;
  SubrowDescNumber: number;
}

export interface TokenResponse {
  token_type: 'Bearer';
  expires_in: number;
  access_token: string;
}

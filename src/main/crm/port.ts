// The CRM port. One adapter folder per CRM (hubspot/, salesforce/, zoho/, highlevel/) implements
// it; registry.ts holds the one line per CRM. The outbox and screen-pop only ever see this port.
import type { CallDirection } from '../../shared/call-event.js';
import type { CrmId } from '../../shared/crm.js';

export interface CrmContact {
  /** The CRM's record id. */
  id: string;
  /** Object kind where the CRM has several (Contact / Lead in Salesforce, Contacts / Leads in Zoho). */
  kind: string;
  name: string;
  company: string | null;
  /** Every phone field of the record, as stored in the CRM (raw, normalised by the index). */
  phones: string[];
  /** CRM user id of the owner, to prefer the agent's own contacts on several matches. */
  ownerId: string | null;
  /** Last activity time when the CRM reports it (ISO). */
  lastActivityAt: string | null;
  /** Browser URL of the record. */
  url: string;
  updatedAt: string | null;
}

/** An open deal of a contact (HubSpot deal, Salesforce Opportunity or Case, Zoho Deal, HighLevel opportunity). */
export interface CrmDeal {
  id: string;
  /** Object kind as the CRM names it: 'deal', 'Opportunity' | 'Case', 'Deals', 'opportunity'. */
  kind: string;
  name: string;
  /** Stage or status as the CRM shows it. */
  stage: string | null;
  url: string;
}

/** A caller the CRM does not know yet: what `createContact` fills in. */
export interface NewContactInput {
  /** The caller's number in E.164, stored as such. */
  e164: string;
  /** A name the agent typed; without one the record is named after the number. */
  name: string | null;
  /** The agent's CRM user, owner of the new record; resolved as for `CallLogInput.ownerId`. */
  ownerId: string | null;
}

/** The contact and deal a call record is linked to (ids; null: none). */
export interface CallLinks {
  contactId: string | null;
  dealId: string | null;
}

/** The links a write of `input` gives the record. */
export function linksOf(input: Pick<CallLogInput, 'contact' | 'deal'>): CallLinks {
  return { contactId: input.contact?.id ?? null, dealId: input.deal?.id ?? null };
}

export type CallOutcome = 'answered' | 'missed' | 'no_answer' | 'busy' | 'failed';

export interface CallLogInput {
  /** Our stable key for this call leg (tenant:pbx:callId:extension): the CRM-side idempotency key. */
  callKey: string;
  direction: CallDirection;
  from: string;
  to: string;
  startedAt: string;
  answeredAt: string | null;
  durationSec: number;
  outcome: CallOutcome;
  subject: string;
  notes: string;
  /**
   * 'in_progress': the live record written when the agent answered (the call is still on);
   * 'completed' (also when absent) once it ended. The same record goes from one to the other (`updateCall`).
   */
  status?: 'in_progress' | 'completed';
  /** The outcome the agent picked from `listDispositions` (id and label); absent or null: none. */
  disposition?: { id: string; label: string } | null;
  /** The contact to attach the call to; null logs it unattached (or against a new contact where the CRM requires one). */
  contact: Pick<CrmContact, 'id' | 'kind'> | null;
  /**
   * The contact's open deal the agent picked: the call is associated with it as well (the contact
   * stays). An update with another deal (or none) moves the association; never a second record.
   */
  deal?: Pick<CrmDeal, 'id' | 'kind' | 'name'> | null;
  /**
   * The agent's CRM user as configured (the CRM's user id, or an e-mail): the adapter resolves it
   * with `resolveOwner` and never sends an owner the CRM cannot take; unknown, the record goes
   * without an owner and its body says why.
   */
  ownerId: string | null;
}

/** The CRM's own id for the agent's CRM user, or why there is none (never a guess). */
export type OwnerResolution = { id: string } | { id: null; reason: string };

export interface CrmCallRecord {
  id: string;
  url: string | null;
}

/** A "call back" task for a missed call, where the CRM has tasks. */
export interface FollowUpTaskInput {
  /** The missed call's key: one task per call, whatever the retries. */
  callKey: string;
  /** The caller's record; the task is linked to it (and to the call record) where the CRM allows. */
  contact: Pick<CrmContact, 'id' | 'kind'> | null;
  /** The agent's CRM user, who is assigned the task; resolved as for `CallLogInput.ownerId`. */
  ownerId: string | null;
  subject: string;
  /** When the call-back is due (ISO); date-only CRMs keep its UTC date. */
  dueAt: string;
}

export interface RecordingFile {
  fileName: string;
  contentType: string;
  /** Whole file bytes; recordings are small enough (minutes of compressed audio) to upload from memory. */
  data: Uint8Array;
}

/** Result classes the outbox acts on. Adapters throw CrmError; anything else is treated as transient. */
export type CrmErrorKind =
  | 'rate_limited' // retry after retryAfterMs
  | 'transient' // 5xx, network, timeout: retry with backoff
  | 'auth' // token expired/revoked and refresh failed: one "sign in again" prompt
  | 'rejected'; // 4xx that cannot succeed: needs attention with the CRM's message

export class CrmError extends Error {
  constructor(
    readonly kind: CrmErrorKind,
    message: string,
    readonly status: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'CrmError';
  }
}

export interface ContactPage {
  contacts: CrmContact[];
  /** Opaque cursor for the next incremental sync; persisted by the caller. */
  cursor: string | null;
  hasMore: boolean;
}

export interface CrmAdapter {
  readonly id: CrmId;
  /** Finds contacts whose phone fields match the E.164 number. */
  findContactsByPhone(e164: string): Promise<CrmContact[]>;
  contactUrl(contact: Pick<CrmContact, 'id' | 'kind'>): string;
  /** The CRM's new-contact form, prefilled with the number where the CRM allows it. */
  newContactUrl(e164: string | null): string;
  /**
   * Creates the call activity, or returns the existing one with this callKey (idempotent). `memo`
   * (the outbox's) tells a first attempt from a retry, so a first one need not look for an earlier write.
   */
  logCall(input: CallLogInput, memo?: StepMemo): Promise<CrmCallRecord>;
  /**
   * Updates the record, its contact and deal association included (a re-pick moves it, never copies it).
   * `written`: the links the caller's last successful write of this record gave it. An adapter that
   * links a record to several objects (HubSpot) moves only those, so links people added by hand stay;
   * unknown, it links the pick and unlinks nothing. The same ones as the input: nothing to move.
   */
  updateCall(recordId: string, input: CallLogInput, written?: CallLinks): Promise<CrmCallRecord>;
  /** The contact's open deals (newest first, at most 20); [] for a kind that has none (a lead). */
  findOpenDeals(contact: Pick<CrmContact, 'id' | 'kind'>): Promise<CrmDeal[]>;
  /**
   * Creates the record for a new caller with the number in E.164: a contact, or a lead where the
   * CRM keeps unknown callers as leads (Salesforce Lead, Zoho Leads). Not idempotent by itself:
   * callers look the number up first (contacts/create-caller.ts).
   */
  createContact(input: NewContactInput): Promise<CrmContact>;
  /**
   * Uploads the file and attaches it to the call record (never just a link). Idempotent per
   * recordId+fileName. `memo` keeps what an attempt learned (e.g. the uploaded file's id) for the next.
   */
  attachRecording(record: CrmCallRecord, file: RecordingFile, callKey: string, memo?: StepMemo): Promise<void>;
  /**
   * The call outcomes the agent may pick, as this CRM account defines them (HubSpot reads the
   * account's dispositions; CRMs with a free-text or fixed field offer their documented values).
   */
  listDispositions(): Promise<Array<{ id: string; label: string }>>;
  /** Incremental contact sync for the local index; cursor null = from the beginning. */
  syncContacts(cursor: string | null): Promise<ContactPage>;
  /**
   * The CRM's owner id for the agent's CRM user: an id the CRM takes is kept, an e-mail is looked up
   * (once; a failed lookup is asked again), anything else has none. Contacts' `ownerId` is such an id.
   */
  resolveOwner(crmUser: string): Promise<OwnerResolution>;
  /**
   * Where the CRM has tasks: creates the follow-up task for a missed call logged as `record`,
   * linked to the contact and the call where the CRM can. Idempotent per callKey.
   */
  createFollowUpTask?(record: CrmCallRecord, input: FollowUpTaskInput): Promise<void>;
}

/**
 * What one outbox step learned so far, on disk: an adapter sets a fact (an uploaded file's id) as
 * soon as it has it, and a retry after a failure reads it back instead of finding it again.
 */
export interface StepMemo {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/**
 * True when the memo shows no earlier attempt at this write, which it records on disk first: a retry
 * after a crash or a lost answer then looks for the earlier write. Without a memo, it may exist.
 */
export function firstSend(memo: StepMemo | undefined, attempt: string): boolean {
  if (!memo) return false;
  const first = memo.get(attempt) === undefined;
  memo.set(attempt, 'yes');
  return first;
}

/** Per-user credentials the adapter calls the CRM with; the oauth/ module implements it. */
export interface CrmSession {
  /** A valid access token, refreshed ahead of expiry. */
  accessToken(): Promise<string>;
  /** Forces a refresh after the CRM said 401; throws CrmError('auth') when the grant is gone. */
  refreshAfterUnauthorized(): Promise<string>;
  /** Account context from the token response: Salesforce instance_url, Zoho api_domain, HighLevel locationId, HubSpot hub id... */
  readonly context: Readonly<Record<string, string>>;
}

export interface OAuthClientConfig {
  authorizeUrl: string;
  tokenUrl: string;
  scopes: string[];
  /** Whether the CRM accepts PKCE for this client type. */
  pkce: boolean;
  /** True when the CRM requires a client secret: the bus token broker does the code exchange and refresh. */
  needsBroker: boolean;
  /** Redirect kind the CRM allows for a desktop app. */
  redirect: 'loopback' | 'custom-scheme';
  /** Extra authorize-URL parameters the CRM needs (e.g. Zoho access_type=offline, prompt=consent). */
  authorizeParams?: Record<string, string>;
  /** Scope separator when the CRM does not use a space (Zoho documents commas). */
  scopeSeparator?: string;
  /** Multi-data-centre CRMs (Zoho): the token calls go to the accounts server the redirect names. */
  regionalTokenServer?: RegionalTokenServer;
}

/**
 * The redirect of a multi-data-centre CRM names the user's accounts server; the code exchange and
 * every refresh must go there, and only to a server the CRM's folder knows as its own.
 */
export interface RegionalTokenServer {
  /** Redirect parameter carrying the server's origin (Zoho: `accounts-server`). */
  param: string;
  /** Token endpoint path on that server. */
  tokenPath: string;
  /** True when the code and refresh token may be sent to this origin. */
  allows(origin: URL): boolean;
}

/** One per CRM folder; registry.ts lists them. `origin` overrides the vendor hosts (simulators in tests). */
export interface CrmProvider {
  readonly id: CrmId;
  readonly displayName: string;
  oauth(origin?: string): OAuthClientConfig;
  create(session: CrmSession, opts?: { origin?: string; fetch?: typeof fetch }): CrmAdapter;
}

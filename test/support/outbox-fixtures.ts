// Test support shared by the outbox tests: CallEvents for a call leg, a fake bus that hands out
// recording URLs and serves the bytes, and an in-memory CRM adapter with scripted failures.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { CallEvent, CallEventType } from '../../src/shared/call-event.js';
import type { CallLogInput, CrmAdapter, CrmCallRecord, CrmContact, CrmDeal, FollowUpTaskInput, NewContactInput, OwnerResolution, RecordingFile } from '../../src/main/crm/port.js';
import type { CrmLogState } from '../../src/shared/call-history.js';
import { Outbox, type OutboxOptions } from '../../src/main/outbox/outbox.js';
import type { CallChoice } from '../../src/main/call-choices/choices.js';
import { hubspotProvider } from '../../src/main/crm/hubspot/index.js';
import { simSession } from '../../src/sim/crm/common/index.js';
import { HUBSPOT_SIM_PORTAL_ID, type HubSpotSim } from '../../src/sim/crm/hubspot/index.js';

export const AGENT_EXT = '101';
export const silentLogger = pino({ level: 'silent' });

export interface CallScript {
  pbxCallId: string;
  remote?: string;
  direction?: 'inbound' | 'outbound' | 'internal';
  at?: number;
  agents?: string[];
}

/** Events of one call leg, `at` ms epoch of the answer (ring starts 5 s before). */
export function callEvent(script: CallScript, type: CallEventType, extra: Partial<CallEvent> = {}): CallEvent {
  const at = script.at ?? Date.parse('2026-03-02T09:00:00Z');
  const offsets: Record<CallEventType, number> = { ringing: -5_000, answered: 0, ended: 65_000, missed: 20_000, recording_ready: 70_000 };
  const remote = { raw: script.remote ?? '+61298765432', e164: script.remote ?? '+61298765432', name: null, extension: null };
  const agent = { raw: AGENT_EXT, e164: null, name: 'Ann Agent', extension: AGENT_EXT };
  const inbound = (script.direction ?? 'inbound') === 'inbound';
  const pbxTime = new Date(at + offsets[type]).toISOString();
  return {
    v: 1,
    id: `evt-${script.pbxCallId}-${type}`,
    tenantId: 't1',
    pbxId: 'pbx1',
    pbxCallId: script.pbxCallId,
    type,
    direction: script.direction ?? 'inbound',
    caller: inbound ? remote : agent,
    callee: inbound ? agent : remote,
    extensions: [AGENT_EXT],
    queue: null,
    agents: script.agents ?? [AGENT_EXT],
    pbxTime,
    receivedAt: pbxTime,
    durationSec: type === 'ended' ? 65 : null,
    recording: type === 'recording_ready' ? { pbxRecordingId: `rec-${script.pbxCallId}`, contentType: 'audio/wav' } : null,
    source: 'call-control',
    ...extra,
  };
}

export const keyOf = (pbxCallId: string) => `t1:pbx1:${pbxCallId}:${AGENT_EXT}`;

/** Recording bytes for a call: deterministic so tests can compare what the CRM got. */
export function recordingBytes(eventId: string): Buffer {
  return Buffer.from(`RIFF-fake-wav-for-${eventId}`.repeat(64));
}

export interface FakeBus {
  url: string;
  requestRecording(eventId: string): Promise<{ url: string; expiresAt: string; transcription?: string | null; summary?: string | null }>;
  requests: string[];
  /** 3CX's transcript and summary the bus hands out with a recording, by recording_ready event id. */
  text: Map<string, { transcription: string | null; summary: string | null }>;
  /** Next requestRecording calls throw this (once each). */
  failNext: Error[];
  close(): Promise<void>;
}

/** A fake bus and a data directory for one test's outboxes; `cleanups` closes the one and removes the other. */
export async function outboxPlace(dirPrefix: string, cleanups: Array<() => unknown>): Promise<{ bus: FakeBus; dir: string }> {
  const bus = await startFakeBus();
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => bus.close());
  return { bus, dir };
}

export async function startFakeBus(opts: { delayMs?: number } = {}): Promise<FakeBus> {
  const delay = () => new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
  const server: Server = createServer((req, res) => {
    void delay().then(() => {
      const eventId = decodeURIComponent((req.url ?? '').replace(/^\/recordings\//, ''));
      const data = recordingBytes(eventId);
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': data.length });
      res.end(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bus: FakeBus = {
    url,
    requests: [],
    text: new Map(),
    failNext: [],
    async requestRecording(eventId) {
      bus.requests.push(eventId);
      await delay();
      const failure = bus.failNext.shift();
      if (failure) throw failure;
      return { url: `${url}/recordings/${encodeURIComponent(eventId)}`, expiresAt: new Date(Date.now() + 60_000).toISOString(), ...bus.text.get(eventId) };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return bus;
}

type Op = 'logCall' | 'updateCall' | 'attachRecording' | 'createFollowUpTask';

export interface FakeCrmRecord {
  record: CrmCallRecord;
  input: CallLogInput;
  attachments: Map<string, RecordingFile>;
  updates: number;
}

/** A CRM in memory that behaves like the adapters promise: logCall and follow-up tasks idempotent per callKey, attach per record+file. */
export class FakeCrm implements CrmAdapter {
  readonly id = 'hubspot' as const;
  readonly records = new Map<string, FakeCrmRecord>();
  /** Creation order of records (callKeys). */
  readonly created: string[] = [];
  /** Follow-up tasks by callKey, with the call record they were created for. */
  readonly tasks = new Map<string, { record: CrmCallRecord; input: FollowUpTaskInput }>();
  readonly attempts: Array<{ op: Op; callKey: string; at: number; failed: boolean }> = [];
  /** Failure for every attempt while set (the CRM is down). */
  down: Error | null = null;
  private readonly failures: Array<{ op?: Op; error: Error }> = [];

  failNext(error: Error, op?: Op): void {
    this.failures.push({ op, error });
  }

  private gate(op: Op, callKey: string): void {
    const i = this.failures.findIndex((f) => !f.op || f.op === op);
    const error = this.down ?? (i >= 0 ? this.failures.splice(i, 1)[0]!.error : null);
    this.attempts.push({ op, callKey, at: Date.now(), failed: error !== null });
    if (error) throw error;
  }

  async findContactsByPhone(): Promise<CrmContact[]> {
    return [];
  }
  async resolveOwner(crmUser: string): Promise<OwnerResolution> {
    return { id: crmUser };
  }
  contactUrl(c: Pick<CrmContact, 'id'>): string {
    return `https://crm.example/contacts/${c.id}`;
  }
  newContactUrl(): string {
    return 'https://crm.example/contacts/new';
  }
  async logCall(input: CallLogInput): Promise<CrmCallRecord> {
    this.gate('logCall', input.callKey);
    const existing = this.records.get(input.callKey);
    if (existing) return existing.record;
    const record = { id: `call-${this.records.size + 1}`, url: null };
    this.records.set(input.callKey, { record, input, attachments: new Map(), updates: 0 });
    this.created.push(input.callKey);
    return record;
  }
  async updateCall(recordId: string, input: CallLogInput): Promise<CrmCallRecord> {
    this.gate('updateCall', input.callKey);
    const entry = [...this.records.values()].find((r) => r.record.id === recordId)!;
    entry.input = input;
    entry.updates++;
    return entry.record;
  }
  async attachRecording(record: CrmCallRecord, file: RecordingFile, callKey: string): Promise<void> {
    this.gate('attachRecording', callKey);
    this.records.get(callKey)!.attachments.set(file.fileName, file);
  }
  async createFollowUpTask(record: CrmCallRecord, input: FollowUpTaskInput): Promise<void> {
    this.gate('createFollowUpTask', input.callKey);
    if (!this.tasks.has(input.callKey)) this.tasks.set(input.callKey, { record, input });
  }
  async syncContacts() {
    return { contacts: [], cursor: null, hasMore: false };
  }
  async listDispositions() {
    return [{ id: 'disp-connected', label: 'Connected' }];
  }
  async findOpenDeals(): Promise<CrmDeal[]> {
    return [];
  }
  async createContact(input: NewContactInput): Promise<CrmContact> {
    const id = `new-${input.e164}`;
    return { id, kind: 'contact', name: input.name ?? input.e164, company: null, phones: [input.e164], ownerId: null, lastActivityAt: null, url: this.contactUrl({ id }), updatedAt: null };
  }
}

export class RecordingHistory {
  readonly states = new Map<string, Array<{ state: CrmLogState; reason: string | null }>>();
  setCrmState(callKey: string, state: CrmLogState, reason: string | null): void {
    const list = this.states.get(callKey) ?? [];
    list.push({ state, reason });
    this.states.set(callKey, list);
  }
  last(callKey: string) {
    return this.states.get(callKey)?.at(-1);
  }
}

/** An outbox on a real adapter that looks contacts up in the CRM, as crm-link does on an index miss. */
export function outboxOnAdapter(adapter: CrmAdapter, opts: Pick<OutboxOptions, 'dataDir' | 'bus' | 'history'> & Partial<OutboxOptions>): Outbox {
  return new Outbox({
    agentExtension: AGENT_EXT,
    adapter,
    resolveContact: async (e164) => (await adapter.findContactsByPhone(e164))[0] ?? null,
    logger: silentLogger,
    ...opts,
  });
}

/**
 * Opens outboxes on the HubSpot simulator in one data dir, each open being the app (re)started:
 * the call goes to `contactId` unless `choice()` holds the agent's pick. Each outbox is closed by `cleanups`.
 */
export function hubspotOutboxes(sim: HubSpotSim, opts: { dataDir: string; bus: FakeBus; contactId: string; choice: () => CallChoice | null; cleanups: Array<() => unknown> }): () => Outbox {
  return () => {
    const adapter = hubspotProvider.create(simSession(sim, { portalId: HUBSPOT_SIM_PORTAL_ID }), { origin: sim.url });
    const outbox = outboxOnAdapter(adapter, {
      dataDir: opts.dataDir,
      bus: opts.bus,
      history: new RecordingHistory(),
      resolveContact: async () => ({ id: opts.contactId, kind: 'contact', name: 'Jane Citizen' }),
      choices: { forCall: () => opts.choice() },
    });
    opts.cleanups.push(() => outbox.close());
    return outbox;
  };
}

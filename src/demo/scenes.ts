// The scripted calls. Each scene starts the clock, makes the PBX (or an agent) do one thing, and
// waits for what a newcomer should see; anything that does not show up is printed as a failed
// check, so the demo doubles as a smoke test (`--once` exits non-zero when a check failed).
import { setTimeout as sleep } from 'node:timers/promises';
import { formatForDisplay } from '../shared/phone.js';
import type { CallScript } from '../sim/3cx/index.js';
import { AGENTS, DIAL_E164, DIAL_LINK, HOSTILE_LINK, KNOWN_CALLERS, PBX_COUNTRY, PREMIUM_LINK, QUEUE, QUEUE_NAME, UNKNOWN_CALLER, fullName, type CastCaller } from './cast.js';
import type { Printed, Printer } from './print.js';
import type { Stage } from './stage.js';
import type { TerminalAgent } from './terminal-agent.js';

export interface SceneContext {
  stage: Stage;
  printer: Printer;
  /** Terminal agents by extension. */
  agents: Map<string, TerminalAgent>;
  /** Whether the agents are signed in to the CRM (call logs and recordings are expected). */
  crm: boolean;
  /** How long to wait for an expected line. */
  timeoutMs: number;
}

export interface SceneResult {
  checks: number;
  failed: string[];
}

class Checks {
  readonly result: SceneResult = { checks: 0, failed: [] };
  private readonly from: number;

  constructor(private readonly ctx: SceneContext) {
    this.from = ctx.printer.lines.length;
  }

  /** Waits for a line printed since the scene started; reports it as failed when none comes. */
  async see(what: string, match: (line: Printed) => boolean): Promise<Printed | null> {
    this.result.checks++;
    const line = await this.ctx.printer.waitFor(match, this.ctx.timeoutMs, this.from);
    if (!line) this.fail(what);
    return line;
  }

  /** A condition that must hold now. */
  hold(what: string, ok: boolean): void {
    this.result.checks++;
    if (!ok) this.fail(what);
  }

  private fail(what: string): void {
    this.result.failed.push(what);
    this.ctx.printer.say('demo', 'CHECK', `expected, not seen: ${what}`, 'bad');
  }
}

const line = (who: string, tag: string, text?: string | RegExp) => (l: Printed) =>
  l.who === who && l.tag === tag && (text === undefined || (typeof text === 'string' ? l.text.includes(text) : text.test(l.text)));

const onScreen = AGENTS.filter((a) => a.onScreen).map((a) => a.extension);
const [FIRST, SECOND] = onScreen as [string, string];
const label = (ext: string) => `[${ext}]`;
const UNKNOWN_DISPLAY = formatForDisplay(UNKNOWN_CALLER, PBX_COUNTRY);
const DIAL_DISPLAY = formatForDisplay(DIAL_E164, PBX_COUNTRY);

/** The CRM lines a logged call leaves on its agent's screen, then what the CRM itself now holds. */
async function expectCrm(checks: Checks, ctx: SceneContext, ext: string, callid: number, who: string, recording: boolean): Promise<void> {
  if (!ctx.crm) return;
  await checks.see(`${label(ext)} call logged in the CRM for ${who}`, line(label(ext), 'CRM', `call logged — ${who}`));
  if (recording) await checks.see(`${label(ext)} recording attached for ${who}`, line(label(ext), 'CRM', `recording attached — ${who}`));
  const record = hubspotCall(ctx, ext, callid);
  checks.hold(`one HubSpot call record for ${ext}'s leg of call ${callid}`, record !== null);
  if (record) ctx.printer.say('[CRM]', 'HubSpot', record);
}

/** The HubSpot call records of one agent's leg of a call, from the simulator's own store. */
function hubspotCallsOf(ctx: SceneContext, ext: string, callid: number) {
  return [...ctx.stage.hubspot.calls.values()].filter((c) => c.properties.ringbridge_call_key?.endsWith(`:${callid}:${ext}`));
}

/** The agent's leg of a call is not this agent's to log: it says why, and HubSpot has no record of it. */
async function expectNotLogged(checks: Checks, ctx: SceneContext, ext: string, callid: number, who: string, outcome: string): Promise<void> {
  if (!ctx.crm) return;
  await checks.see(`${label(ext)} not logging ${who} (${outcome})`, line(label(ext), 'CRM', `not logged by this agent — ${who}, ${outcome}`));
  checks.hold(`no HubSpot call record for ${ext}'s leg of call ${callid}`, hubspotCallsOf(ctx, ext, callid).length === 0);
}

/** What the agent's own call history says about a call. */
function historyOutcome(ctx: SceneContext, ext: string, callid: number): string | undefined {
  return ctx.agents.get(ext)?.core.history.list().find((r) => r.pbxCallId === String(callid))?.outcome;
}

/** "call 1004: INBOUND COMPLETED, 42 s, on Jane Citizen, 1 file" — from the simulator's own store. */
function hubspotCall(ctx: SceneContext, ext: string, callid: number): string | null {
  const { hubspot } = ctx.stage;
  const matches = hubspotCallsOf(ctx, ext, callid);
  if (matches.length !== 1) return null;
  const call = matches[0]!;
  const p = call.properties;
  const contact = call.associations.map((a) => hubspot.contacts.get(a.toId)).find(Boolean);
  const name = contact ? `${contact.properties.firstname} ${contact.properties.lastname}` : 'no contact (unknown number)';
  const files = (p.hs_attachment_ids ?? '').split(';').filter(Boolean).length;
  const seconds = Math.round(Number(p.hs_call_duration ?? 0) / 1000);
  return `call ${call.id}: ${p.hs_call_direction} ${p.hs_call_status}, ${seconds} s, on ${name}, ${files} recording file${files === 1 ? '' : 's'}`;
}

async function place(ctx: SceneContext, script: CallScript): Promise<number> {
  return (await ctx.stage.pbxSim.placeCall(script)).callid;
}

export async function knownCaller(ctx: SceneContext): Promise<SceneResult> {
  const jane = KNOWN_CALLERS.jane;
  ctx.printer.startScene(`1. ${fullName(jane)} calls ${FIRST} (a contact in the CRM): pop, answer, hang up, log`);
  const checks = new Checks(ctx);
  const call = place(ctx, { kind: 'inbound', from: jane.e164, to: FIRST, talkSec: 42 });
  await checks.see(`${label(FIRST)} pop naming ${fullName(jane)}`, line(label(FIRST), 'POP', `${fullName(jane)} — `));
  const callid = await call;
  const lookup = ctx.stage.pbxSim.deliveries.find((d) => d.form === 'template-lookup' && d.status === 200 && JSON.stringify(d.answer).includes(jane.lastName));
  if (lookup) ctx.printer.say('[3CX]', 'lookup', `at ring the desk phone showed ${fullName(jane)} (CRM-template lookup, answered from the bus contact cache)`);
  await checks.see(`${label(FIRST)} call ended`, line(label(FIRST), 'call', 'ended'));
  await expectCrm(checks, ctx, FIRST, callid, fullName(jane), true);
  return checks.result;
}

export async function queueCall(ctx: SceneContext): Promise<SceneResult> {
  const tom = KNOWN_CALLERS.tom;
  ctx.printer.startScene(`2. ${fullName(tom)} calls queue ${QUEUE}: rings ${FIRST} and ${SECOND}, ${SECOND} answers`);
  const checks = new Checks(ctx);
  const call = place(ctx, { kind: 'queue', queue: QUEUE, agents: [FIRST, SECOND], answeredBy: SECOND, from: tom.e164, talkSec: 65 });
  await checks.see(`${label(FIRST)} pop for the queue call`, line(label(FIRST), 'POP', `queue ${QUEUE_NAME}`));
  await checks.see(`${label(SECOND)} pop for the queue call`, line(label(SECOND), 'POP', `queue ${QUEUE_NAME}`));
  await checks.see(`${label(FIRST)} pop withdrawn once ${SECOND} answered`, line(label(FIRST), 'pop gone'));
  await checks.see(`${label(FIRST)} told ${SECOND} answered`, line(label(FIRST), 'call', `answered by ${SECOND}`));
  const callid = await call;
  // The caller was served: the colleague who lost the race did not miss it, and only the one who answered logs it.
  await expectCrm(checks, ctx, SECOND, callid, fullName(tom), true);
  await expectNotLogged(checks, ctx, FIRST, callid, fullName(tom), 'answered elsewhere');
  checks.hold(`${label(FIRST)} history shows the call answered elsewhere`, historyOutcome(ctx, FIRST, callid) === 'answered_elsewhere');
  return checks.result;
}

export async function unknownCaller(ctx: SceneContext): Promise<SceneResult> {
  ctx.printer.startScene(`3. A number nobody knows calls ${FIRST}`);
  const checks = new Checks(ctx);
  const call = place(ctx, { kind: 'inbound', from: UNKNOWN_CALLER, to: FIRST, talkSec: 20 });
  await checks.see(`${label(FIRST)} pop saying new caller`, line(label(FIRST), 'POP', 'New caller'));
  const callid = await call;
  await checks.see(`${label(FIRST)} call ended`, line(label(FIRST), 'call', 'ended'));
  await expectCrm(checks, ctx, FIRST, callid, UNKNOWN_DISPLAY, true);
  return checks.result;
}

export async function missedCall(ctx: SceneContext): Promise<SceneResult> {
  const priya = KNOWN_CALLERS.priya;
  ctx.printer.startScene(`4. ${fullName(priya)} calls ${SECOND}, nobody picks up`);
  const checks = new Checks(ctx);
  const call = place(ctx, { kind: 'inbound', from: priya.e164, to: SECOND, answer: false });
  await checks.see(`${label(SECOND)} pop naming ${fullName(priya)}`, line(label(SECOND), 'POP', fullName(priya)));
  const callid = await call;
  await checks.see(`${label(SECOND)} call shown as missed`, line(label(SECOND), 'call', 'missed'));
  await expectCrm(checks, ctx, SECOND, callid, fullName(priya), false);
  await expectFollowUpTask(checks, ctx, SECOND, callid);
  return checks.result;
}

/** A missed inbound call leaves a "call back" task in the CRM, created after the call log. */
async function expectFollowUpTask(checks: Checks, ctx: SceneContext, ext: string, callid: number): Promise<void> {
  if (!ctx.crm) return;
  const deadline = Date.now() + ctx.timeoutMs;
  const taskOf = () => [...ctx.stage.hubspot.tasks.values()].filter((t) => t.properties.ringbridge_call_key?.endsWith(`:${callid}:${ext}`));
  while (taskOf().length === 0 && Date.now() < deadline) await sleep(20);
  const tasks = taskOf();
  checks.hold(`one HubSpot follow-up task for ${ext}'s missed call ${callid}`, tasks.length === 1);
  const task = tasks[0];
  if (task) ctx.printer.say('[CRM]', 'HubSpot', `task ${task.id}: "${task.properties.hs_task_subject}", due ${task.properties.hs_timestamp}`);
}

export async function queueMissed(ctx: SceneContext): Promise<SceneResult> {
  const jane = KNOWN_CALLERS.jane;
  ctx.printer.startScene(`5. ${fullName(jane)} calls queue ${QUEUE}, nobody answers: missed on both, logged once (by ${FIRST}, the first it rang)`);
  const checks = new Checks(ctx);
  const call = place(ctx, { kind: 'queue', queue: QUEUE, agents: [FIRST, SECOND], answeredBy: null, from: jane.e164 });
  for (const ext of [FIRST, SECOND]) await checks.see(`${label(ext)} pop for the queue call`, line(label(ext), 'POP', `queue ${QUEUE_NAME}`));
  const callid = await call;
  for (const ext of [FIRST, SECOND]) {
    await checks.see(`${label(ext)} call shown as missed`, line(label(ext), 'call', `missed (queue ${QUEUE}`));
  }
  await expectCrm(checks, ctx, FIRST, callid, fullName(jane), false);
  await expectNotLogged(checks, ctx, SECOND, callid, fullName(jane), 'missed');
  for (const ext of [FIRST, SECOND]) checks.hold(`${label(ext)} history shows the call missed`, historyOutcome(ctx, ext, callid) === 'missed');
  return checks.result;
}

export async function clickToDial(ctx: SceneContext): Promise<SceneResult> {
  const agent = ctx.agents.get(FIRST)!;
  const sim = ctx.stage.pbxSim;
  ctx.printer.startScene(`6. ${FIRST} clicks ${DIAL_LINK} in the CRM: the bus dials from ${FIRST}'s own extension`);
  const checks = new Checks(ctx);
  const before = sim.makeCallRequests.length;
  await agent.core.dial(DIAL_LINK);
  await checks.see(`${label(FIRST)} dial result ok`, line(label(FIRST), 'DIAL ok'));
  const request = sim.makeCallRequests[before];
  checks.hold(`PBX makecall from extension ${FIRST}`, request?.dn === FIRST);
  if (request) ctx.printer.say('[3CX]', 'makecall', `from ext ${request.dn} (${request.deviceId?.includes('desk') ? 'desk phone' : request.deviceId}) to ${request.destination}`);
  await checks.see(`${label(FIRST)} outbound call seen on the bus`, line(label(FIRST), 'call', 'dialling'));
  const leg = sim.participants(FIRST).find((p) => p.party_caller_id === request?.destination);
  if (leg) {
    ctx.printer.say('[3CX]', 'hangup', 'nobody answers; the caller hangs up');
    await sim.hangup(leg.callid);
    await checks.see(`${label(FIRST)} outbound call ended`, line(label(FIRST), 'call', /ended|not answered/));
    await expectCrm(checks, ctx, FIRST, leg.callid, DIAL_DISPLAY, false);
  }
  return checks.result;
}

export async function hostileLinks(ctx: SceneContext): Promise<SceneResult> {
  const agent = ctx.agents.get(FIRST)!;
  const sim = ctx.stage.pbxSim;
  ctx.printer.startScene('7. Links that must not dial: a script hidden in a tel: link, a premium-rate number');
  const checks = new Checks(ctx);
  const before = sim.makeCallRequests.length;
  ctx.printer.say(label(FIRST), 'click', HOSTILE_LINK);
  await agent.core.dial(HOSTILE_LINK);
  await checks.see('hostile tel: link refused with its reason', line(label(FIRST), 'DIAL no', 'refused on the agent'));
  ctx.printer.say(label(FIRST), 'click', PREMIUM_LINK);
  await agent.core.dial(PREMIUM_LINK);
  await checks.see('premium-rate number refused by the bus dial policy', line(label(FIRST), 'DIAL no', 'refused by the bus'));
  checks.hold('the PBX was never asked to dial', sim.makeCallRequests.length === before);
  ctx.printer.say('[3CX]', 'makecall', `none (${sim.makeCallRequests.length - before} requests)`);
  return checks.result;
}

/** Polls `read` until it returns something (or the scene's wait runs out). */
async function until<T>(ctx: SceneContext, read: () => T | null | undefined): Promise<T | null> {
  const deadline = Date.now() + ctx.timeoutMs;
  for (;;) {
    const value = read();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) return null;
    await sleep(20);
  }
}

/** The live record (issue 11 item 10): on the contact in HubSpot while the call is on, completed in place at the end. */
export async function liveRecord(ctx: SceneContext): Promise<SceneResult> {
  const jane = KNOWN_CALLERS.jane;
  ctx.printer.startScene(`Live record: ${fullName(jane)} calls ${FIRST}; the call is on her HubSpot record as soon as ${FIRST} answers`);
  const checks = new Checks(ctx);
  const call = place(ctx, { kind: 'inbound', from: jane.e164, to: FIRST, talkSec: 6 });
  await checks.see(`${label(FIRST)} call answered`, line(label(FIRST), 'call', 'answered'));
  if (ctx.crm) {
    const live = await until(ctx, () => [...ctx.stage.hubspot.calls.values()].find((c) => c.properties.hs_call_status === 'IN_PROGRESS' && c.properties.hs_call_from_number === jane.e164));
    checks.hold('a HubSpot call record IN_PROGRESS while the call is on', live !== null);
    if (live) ctx.printer.say('[CRM]', 'HubSpot', `call ${live.id}: ${live.properties.hs_call_status} since ${live.properties.hs_timestamp}, on ${fullName(jane)} (colleagues see it now)`);
    const callid = await call;
    await checks.see(`${label(FIRST)} call ended`, line(label(FIRST), 'call', 'ended'));
    const done = await until(ctx, () => (live && ctx.stage.hubspot.calls.get(live.id)?.properties.hs_call_status === 'COMPLETED' ? live : null));
    checks.hold('the same HubSpot record COMPLETED at the end, not a second one', done !== null && hubspotCallsOf(ctx, FIRST, callid).length === 1);
    await expectCrm(checks, ctx, FIRST, callid, fullName(jane), true);
  } else await call;
  return checks.result;
}

/** Notes and outcome (issue 11 item 2): the call waits in wrap-up; the agent's Save writes them into the record. */
export async function notesAndOutcome(ctx: SceneContext): Promise<SceneResult> {
  const tom = KNOWN_CALLERS.tom;
  const agent = ctx.agents.get(FIRST)!;
  ctx.printer.startScene(`Notes and outcome: ${fullName(tom)} calls ${FIRST}; after the call ${FIRST} types notes, picks an outcome and saves during wrap-up`);
  const checks = new Checks(ctx);
  agent.core.settings.update({ wrapUpSec: 60 });
  try {
    const call = place(ctx, { kind: 'inbound', from: tom.e164, to: FIRST, talkSec: 4 });
    const callid = await call;
    await checks.see(`${label(FIRST)} call ended`, line(label(FIRST), 'call', 'ended'));
    const wrap = await until(ctx, () => agent.crm.callPanel().calls.find((c) => c.state === 'wrap_up'));
    checks.hold(`${label(FIRST)} Call panel shows the call in wrap-up`, wrap !== null);
    if (!wrap || !ctx.crm) return checks.result;
    ctx.printer.say(label(FIRST), 'panel', `wrap-up for ${wrap.remoteName ?? wrap.remoteNumber}, logs by itself at ${wrap.wrapUpEndsAt}`);
    const outcomes = agent.crm.callPanel().dispositions;
    const connected = outcomes.find((d) => d.label === 'Connected');
    checks.hold("the outcome list is HubSpot's own dispositions", connected !== undefined);
    const notes = 'Wants a quote for 20 seats; call back Friday';
    agent.crm.saveCallNotes({ callKey: wrap.callKey, notes, dispositionId: null, done: false });
    agent.crm.saveCallNotes({ callKey: wrap.callKey, notes, dispositionId: connected?.id ?? null, done: true });
    ctx.printer.say(label(FIRST), 'panel', `saved: "${notes}", outcome ${connected?.label ?? 'none'}`);
    const record = await until(ctx, () => {
      const [only] = hubspotCallsOf(ctx, FIRST, callid);
      return only?.properties.hs_call_disposition === connected?.id && only?.properties.hs_call_body?.startsWith(notes) ? only : null;
    });
    checks.hold('the HubSpot record holds the notes (hs_call_body) and the outcome (hs_call_disposition)', record !== null);
    checks.hold('one HubSpot record for the call', hubspotCallsOf(ctx, FIRST, callid).length === 1);
    if (record) ctx.printer.say('[CRM]', 'HubSpot', `call ${record.id}: ${record.properties.hs_call_status}, outcome "${connected?.label}", notes "${notes}"`);
    checks.hold(`${label(FIRST)} Call panel empty after Save`, agent.crm.callPanel().calls.length === 0);
  } finally {
    agent.core.settings.update({ wrapUpSec: 0 });
  }
  return checks.result;
}

/** The HubSpot contact and deal ids a call record is linked to, from the simulator's own store. */
function hubspotLinks(ctx: SceneContext, recordId: string): { contacts: string[]; deals: string[] } {
  return { contacts: ctx.stage.hubspot.callLinks(recordId, 'contacts'), deals: ctx.stage.hubspot.callLinks(recordId, 'deals') };
}

/** The agent's own key for its leg of a call (what the window and the outbox use). */
function callKeyOf(ctx: SceneContext, ext: string, callid: number): string | null {
  return ctx.agents.get(ext)?.core.history.list().find((r) => r.pbxCallId === String(callid))?.callKey ?? null;
}

/** Pick the record (issue 11 item 1): two HubSpot contacts share a number; the agent moves the logged call to the other one. */
export async function pickTheRecord(ctx: SceneContext): Promise<SceneResult> {
  const agent = ctx.agents.get(FIRST)!;
  const e164 = '+61299990001';
  ctx.printer.startScene(`Pick the record: Sam Lee's number is on two HubSpot contacts; ${FIRST} logs the call to the right one`);
  const checks = new Checks(ctx);
  if (!ctx.crm) return checks.result;
  const { hubspot } = ctx.stage;
  const office = hubspot.addContact({ firstname: 'Sam', lastname: 'Lee', company: 'Lee & Co', phone: '(02) 9999 0001', notes_last_updated: new Date().toISOString() });
  const home = hubspot.addContact({ firstname: 'Sam', lastname: 'Lee (home)', phone: '02 9999 0001', notes_last_updated: new Date(Date.now() - 90 * 86_400_000).toISOString() });
  await agent.crm.syncContacts();
  const callid = await place(ctx, { kind: 'inbound', from: e164, to: FIRST, talkSec: 2 });
  const record = await until(ctx, () => hubspotCallsOf(ctx, FIRST, callid)[0]);
  checks.hold('the call logged by policy (latest activity) to the office contact', record !== undefined && record !== null && hubspotLinks(ctx, record.id).contacts.join() === office);
  const callKey = callKeyOf(ctx, FIRST, callid);
  if (!record || !callKey) return checks.result;
  const view = await agent.crm.records.view(callKey);
  ctx.printer.say(label(FIRST), 'record', `${view.candidates.length} records for ${formatForDisplay(e164, PBX_COUNTRY)}: ${view.candidates.map((c) => `${c.name}${c.company ? ` (${c.company})` : ''}`).join(', ')}; suggested ${view.candidates.find((c) => c.id === view.chosenId)?.name}`);
  await agent.crm.records.pickRecord(callKey, home);
  ctx.printer.say(label(FIRST), 'record', 'picked: Sam Lee (home)');
  const moved = await until(ctx, () => (hubspotLinks(ctx, record.id).contacts.join() === home ? record : null));
  checks.hold('the same HubSpot record now on the picked contact only (re-associated, not copied)', moved !== null && hubspotCallsOf(ctx, FIRST, callid).length === 1);
  checks.hold("the pick is remembered for the number: the next call from it goes there", (await agent.crm.records.resolve(e164))?.id === home);
  if (moved) ctx.printer.say('[CRM]', 'HubSpot', `call ${record.id}: on Sam Lee (home) only; one record`);
  return checks.result;
}

/** New caller -> new record (issue 11 item 3): the agent creates the contact from the call; HubSpot stores the number in E.164. */
export async function createContactFromCall(ctx: SceneContext): Promise<SceneResult> {
  const agent = ctx.agents.get(FIRST)!;
  const e164 = '+61860007777';
  ctx.printer.startScene(`Create contact: ${formatForDisplay(e164, PBX_COUNTRY)} is not in HubSpot; ${FIRST} creates the contact from the call`);
  const checks = new Checks(ctx);
  if (!ctx.crm) return checks.result;
  const callid = await place(ctx, { kind: 'inbound', from: e164, to: FIRST, talkSec: 2 });
  const record = await until(ctx, () => hubspotCallsOf(ctx, FIRST, callid)[0]);
  const callKey = callKeyOf(ctx, FIRST, callid);
  if (!record || !callKey) return (checks.hold('the call logged', false), checks.result);
  const view = await agent.crm.records.view(callKey);
  checks.hold("the window offers to create the record (tenant policy 'ask')", view.create === 'ask' && view.candidates.length === 0);
  const created = await agent.crm.records.createRecord(callKey, 'Grace Hopper');
  ctx.printer.say(label(FIRST), 'record', 'created contact Grace Hopper with the caller\'s number');
  const contact = [...ctx.stage.hubspot.contacts.values()].find((c) => c.id === created.chosenId);
  checks.hold('HubSpot has one new contact with the number in E.164', contact?.properties.phone === e164 && [...ctx.stage.hubspot.contacts.values()].filter((c) => c.properties.phone === e164).length === 1);
  const linked = await until(ctx, () => (contact && hubspotLinks(ctx, record.id).contacts.join() === contact.id ? contact : null));
  checks.hold('the call moved onto the new contact, one record', linked !== null && hubspotCallsOf(ctx, FIRST, callid).length === 1);
  if (linked) ctx.printer.say('[CRM]', 'HubSpot', `contact ${linked.id}: Grace Hopper, phone ${linked.properties.phone}; call ${record.id} on it`);
  return checks.result;
}

/** Log to a deal (issue 11 item 4): Jane has an open deal; the agent picks it during the call and the record lands on it too. */
export async function logToDeal(ctx: SceneContext): Promise<SceneResult> {
  const jane = KNOWN_CALLERS.jane;
  const agent = ctx.agents.get(FIRST)!;
  ctx.printer.startScene(`Log to a deal: ${fullName(jane)} has an open HubSpot deal; ${FIRST} picks it during the call`);
  const checks = new Checks(ctx);
  if (!ctx.crm) return checks.result;
  const { hubspot } = ctx.stage;
  const janeId = [...hubspot.contacts.values()].find((c) => c.properties.firstname === jane.firstName && c.properties.lastname === jane.lastName)!.id;
  const deal = hubspot.addDeal({ dealname: 'Office lease review', dealstage: 'contractsent' }, [janeId]);
  hubspot.addDeal({ dealname: 'Old matter', dealstage: 'closedwon', hs_is_closed: 'true' }, [janeId]);
  const call = place(ctx, { kind: 'inbound', from: jane.e164, to: FIRST, talkSec: 5 });
  await checks.see(`${label(FIRST)} call answered`, line(label(FIRST), 'call', 'answered'));
  const onPanel = await until(ctx, () => agent.crm.callPanel().calls.find((c) => c.state === 'talking'));
  if (!onPanel) return (checks.hold('the call on the Call panel', false), checks.result);
  const view = await agent.crm.records.view(onPanel.callKey);
  checks.hold('only the open deal is offered', view.deals.map((d) => d.id).join() === deal);
  ctx.printer.say(label(FIRST), 'record', `open deals of ${fullName(jane)}: ${view.deals.map((d) => `${d.name} (${d.stage})`).join(', ')}`);
  await agent.crm.records.pickDeal(onPanel.callKey, deal);
  ctx.printer.say(label(FIRST), 'record', 'picked deal: Office lease review');
  const callid = await call;
  const record = await until(ctx, () => {
    const [only] = hubspotCallsOf(ctx, FIRST, callid);
    return only?.properties.hs_call_status === 'COMPLETED' && hubspotLinks(ctx, only.id).deals.join() === deal ? only : null;
  });
  checks.hold('the HubSpot record is on the deal and on Jane, one record', record !== null && hubspotLinks(ctx, record.id).contacts.join() === janeId && hubspotCallsOf(ctx, FIRST, callid).length === 1);
  if (record) ctx.printer.say('[CRM]', 'HubSpot', `call ${record.id}: on ${fullName(jane)} and deal "Office lease review"`);
  return checks.result;
}

/** Call control (issue 11 item 7): FIRST answers from the app, transfers to SECOND, who answers and hangs up from the app. */
export async function transferCall(ctx: SceneContext): Promise<SceneResult> {
  const jane = KNOWN_CALLERS.jane;
  const [first, second] = [ctx.agents.get(FIRST)!, ctx.agents.get(SECOND)!];
  const sim = ctx.stage.pbxSim;
  ctx.printer.startScene(`Transfer: ${fullName(jane)} calls ${FIRST}, who answers and transfers her to ${SECOND} from the app (3CX Call Control through the bus)`);
  const checks = new Checks(ctx);
  const earlier = new Set(sim.participants(FIRST).map((p) => p.callid)); // an earlier scene's call may still be ending
  const placed = sim.placeCall({ kind: 'live', from: jane.e164, to: FIRST, ringSec: 20 });
  await checks.see(`${label(FIRST)} pop naming ${fullName(jane)}`, line(label(FIRST), 'POP', `${fullName(jane)} — `));
  const leg = await until(ctx, () => sim.participants(FIRST).find((p) => !earlier.has(p.callid)));
  const keyAt = (ext: string) => (leg ? until(ctx, () => callKeyOf(ctx, ext, leg.callid)) : null);
  const act = async (agent: typeof first, ext: string, action: 'answer' | 'hangup' | 'transfer', to: string | null = null) => {
    const key = await keyAt(ext);
    ctx.printer.say(label(ext), 'click', action === 'transfer' ? `Transfer to ${to}` : action === 'answer' ? 'Answer' : 'Hang up');
    if (key) await agent.core.controlCall(key, action, to).catch((err: Error) => ctx.printer.say(label(ext), 'refused', err.message, 'bad'));
  };
  await act(first, FIRST, 'answer');
  await checks.see(`${label(FIRST)} call answered`, line(label(FIRST), 'call', 'answered'));
  await act(first, FIRST, 'transfer', SECOND);
  await checks.see(`${label(SECOND)} pop for the transferred call`, line(label(SECOND), 'POP', `${fullName(jane)} — `));
  await act(second, SECOND, 'answer');
  await checks.see(`${label(SECOND)} call answered`, line(label(SECOND), 'call', 'answered'));
  await act(second, SECOND, 'hangup');
  const record = await placed;
  const legs = record.legs.map((l) => `${l.dn} ${l.outcome}${l.transferredTo ? ` -> ${l.transferredTo}` : ''}`);
  ctx.printer.say('[3CX]', 'call log', legs.join('; '));
  checks.hold(`the PBX shows ${FIRST} answered and transferred to ${SECOND}, who answered`, legs.join('; ') === `${FIRST} answered -> ${SECOND}; ${SECOND} answered`);
  const actions = sim.controlRequests.filter((r) => r.participantId === leg?.id || r.dn === SECOND).map((r) => `${r.dn}:${r.action}`);
  checks.hold('each action reached 3CX as a Call Control participant action on its own extension', actions.join(',') === `${FIRST}:answer,${FIRST}:transferto,${SECOND}:answer,${SECOND}:drop`);
  await checks.see(`${label(SECOND)} call ended`, line(label(SECOND), 'call', 'ended'));
  return checks.result;
}

/** Presence (issue 11 item 9): FIRST turns 3CX Do Not Disturb on from the tray; a call to FIRST pops nothing; off again. */
export async function doNotDisturb(ctx: SceneContext): Promise<SceneResult> {
  const tom = KNOWN_CALLERS.tom;
  const agent = ctx.agents.get(FIRST)!;
  const sim = ctx.stage.pbxSim;
  ctx.printer.startScene(`Do Not Disturb: ${FIRST} turns on 3CX DND from the tray; ${fullName(tom)}'s call to ${FIRST} does not pop`);
  const checks = new Checks(ctx);
  await agent.core.setDoNotDisturb(true).catch((err: Error) => ctx.printer.say(label(FIRST), 'refused', err.message, 'bad'));
  ctx.printer.say(label(FIRST), 'tray', `3CX: ${agent.core.presence?.profile ?? 'unknown'}${agent.core.presence?.dnd ? ' (Do not disturb)' : ''}`);
  checks.hold(`3CX shows ${FIRST} in its Do Not Disturb profile`, sim.profileOf(FIRST) === 'Out of office');
  const from = ctx.printer.lines.length;
  await sim.placeCall({ kind: 'live', from: tom.e164, to: FIRST, ringSec: 1 });
  await checks.see(`${label(FIRST)} the call seen (missed) without a pop`, line(label(FIRST), 'call', 'missed'));
  checks.hold(`no pop on ${FIRST} while Do Not Disturb`, !ctx.printer.lines.slice(from).some(line(label(FIRST), 'POP')));
  await agent.core.setDoNotDisturb(false).catch((err: Error) => ctx.printer.say(label(FIRST), 'refused', err.message, 'bad'));
  ctx.printer.say(label(FIRST), 'tray', `3CX: ${agent.core.presence?.profile ?? 'unknown'}`);
  checks.hold(`3CX shows ${FIRST} available again`, sim.profileOf(FIRST) === 'Available');
  return checks.result;
}

export const SCRIPTED_SCENES = [knownCaller, queueCall, unknownCaller, missedCall, queueMissed, clickToDial, hostileLinks, liveRecord, notesAndOutcome, pickTheRecord, createContactFromCall, logToDeal, transferCall, doNotDisturb];

/** After the script: one more call every few seconds, cycling through callers and kinds. */
export function* endlessCalls(): Generator<{ title: string; script: CallScript }> {
  const callers: CastCaller[] = Object.values(KNOWN_CALLERS);
  for (let n = 0; ; n++) {
    const caller = callers[n % callers.length]!;
    const name = fullName(caller);
    const kinds: Array<{ title: string; script: CallScript }> = [
      { title: `${name} calls ${FIRST}`, script: { kind: 'inbound', from: caller.e164, to: FIRST, talkSec: 10 + n } },
      { title: `${name} calls queue ${QUEUE}`, script: { kind: 'queue', queue: QUEUE, agents: [FIRST, SECOND], answeredBy: n % 2 ? FIRST : SECOND, from: caller.e164, talkSec: 30 } },
      { title: `${name} calls ${SECOND}, missed`, script: { kind: 'inbound', from: caller.e164, to: SECOND, answer: false } },
      { title: `${FIRST} calls ${name}`, script: { kind: 'outbound', from: FIRST, to: caller.e164, talkSec: 15 } },
    ];
    yield kinds[n % kinds.length]!;
  }
}

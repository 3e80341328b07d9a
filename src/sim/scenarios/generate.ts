// Seeded call scenarios for the simulated 3CX: sequences of the situations that went wrong for real
// customers (repeated calls from one number to one agent, an unrecorded call then a recorded one, a
// missed call then the call-back, queue calls, overlapping calls, PBX restarts with and without
// call-id reuse, a call cut off by a restart), each call sent through a drawn mix of the three 3CX forms. Pure: the same seed
// gives the same scenario, so a failing seed can be replayed.
import type { CallScript, FormSwitches } from '../3cx/index.js';
import { SeededRandom } from '../random.js';

export interface ScenarioCaller {
  /** As the trunk presents it (E.164). */
  e164: string;
  name: string;
  /** A contact with this number exists in the CRM before the calls. */
  known: boolean;
}

export type ScenarioStep =
  | { kind: 'calls'; story: string; scripts: CallScript[] }
  | { kind: 'restart'; story: string; reuseCallIds: boolean };

export interface Scenario {
  seed: number;
  agents: readonly string[];
  queue: string;
  callers: ScenarioCaller[];
  /** In order; a `calls` step with several scripts places them at once (overlapping calls). */
  steps: ScenarioStep[];
}

export interface ScenarioOptions {
  /** How many stories (one or two calls each, or a restart and a call); the first nine are one of each kind. Default 9. */
  stories?: number;
  agents?: readonly string[];
  queue?: string;
}

export const SCENARIO_AGENTS = ['101', '102', '103'] as const;
export const SCENARIO_QUEUE = '800';
const CALLERS = 6;

type Story = 'repeat' | 'unrecordedThenRecorded' | 'missedThenCallBack' | 'queue' | 'overlap' | 'restart' | 'restartReusingIds' | 'cutByRestart' | 'outbound';
const STORY_WEIGHTS: Record<Story, number> = { repeat: 2, unrecordedThenRecorded: 2, missedThenCallBack: 2, queue: 2, overlap: 1, restart: 1, restartReusingIds: 1, cutByRestart: 1, outbound: 1 };
const STORIES = Object.keys(STORY_WEIGHTS) as Story[];

const ALL: Required<FormSwitches> = { callControl: true, template: true, webhook: true };
/** Form mixes a PBX can send. The CRM template alone carries no recording the bus can fetch and cannot tell queue legs apart. */
const FORM_MIXES: Record<string, Required<FormSwitches>> = {
  all: ALL,
  callControl: { callControl: true, template: false, webhook: false },
  webhook: { callControl: false, template: false, webhook: true },
  template: { callControl: false, template: true, webhook: false },
  callControlAndTemplate: { callControl: true, template: true, webhook: false },
  webhookAndTemplate: { callControl: false, template: true, webhook: true },
};
const WITH_CALL_ID = Object.keys(FORM_MIXES).filter((k) => k !== 'template');
/** Only Call Control sees a call end under a restart (the other forms never report it). */
const WITH_CALL_CONTROL = Object.keys(FORM_MIXES).filter((k) => FORM_MIXES[k]!.callControl);

export function generateScenario(seed: number, opts: ScenarioOptions = {}): Scenario {
  const rng = new SeededRandom(seed);
  const agents = opts.agents ?? SCENARIO_AGENTS;
  const queue = opts.queue ?? SCENARIO_QUEUE;
  const callers: ScenarioCaller[] = Array.from({ length: CALLERS }, (_, i) => ({
    e164: `+6129876${String(5000 + ((seed * 7 + i * 101) % 5000)).padStart(4, '0')}`,
    name: `Caller ${i + 1}`,
    known: i % 3 !== 2,
  }));
  const steps: ScenarioStep[] = [];
  const talk = () => rng.int(1, 2);
  /** Forms for one call; recorded calls and queue calls need a form with the PBX's call id. */
  const forms = (needsCallId: boolean): Required<FormSwitches> => FORM_MIXES[rng.pick(needsCallId ? WITH_CALL_ID : Object.keys(FORM_MIXES))]!;
  const inbound = (caller: ScenarioCaller, to: string, answer: boolean, record = true): CallScript => {
    const f = forms(answer && record);
    // A call only the CRM template reports has no recording the bus could fetch: 3CX Pro's case.
    return { kind: 'inbound', from: caller.e164, fromName: caller.name, to, answer, talkSec: answer ? talk() : 0, record: answer && record && (f.callControl || f.webhook), forms: f };
  };
  const one = (story: string, ...scripts: CallScript[]) => scripts.forEach((s) => steps.push({ kind: 'calls', story, scripts: [s] }));

  // The first call goes to the first agent: after a restart that reuses call ids, the next call to
  // that agent gets this call's id again.
  one('opening call', inbound(callers[0]!, agents[0]!, true));
  // Every kind once, in a drawn order, then drawn by weight.
  const firstOfEach = STORIES.map((s) => ({ s, key: rng.next() })).sort((a, b) => a.key - b.key).map(({ s }) => s);
  for (let n = 0; n < (opts.stories ?? STORIES.length); n++) {
    const story = firstOfEach[n] ?? rng.weighted(STORY_WEIGHTS);
    const caller = rng.pick(callers);
    const agent = rng.pick(agents);
    switch (story) {
      case 'repeat':
        one('two calls from one number to one agent', inbound(caller, agent, true), inbound(caller, agent, true));
        break;
      case 'unrecordedThenRecorded':
        one('an unrecorded call, then a recorded one, from one number to one agent', inbound(caller, agent, true, false), inbound(caller, agent, true));
        break;
      case 'missedThenCallBack': {
        // Half the time only the CRM template reports both (3CX Pro's one live form): no recording then.
        const viaTemplate = rng.chance(0.5);
        const missed = inbound(caller, agent, false);
        const callBack = rng.chance(0.7)
          ? inbound(caller, agent, true, rng.chance(0.5))
          : ({ kind: 'outbound', from: agent, to: caller.e164, toName: caller.name, talkSec: talk(), forms: forms(true) } satisfies CallScript);
        const template = FORM_MIXES.template!;
        one('a missed call, then the call-back', ...(viaTemplate ? [{ ...missed, forms: template }, { ...callBack, forms: template, record: false }] : [missed, callBack]));
        break;
      }
      case 'queue': {
        const offered = agents.filter(() => rng.chance(0.7));
        const ringing = offered.length >= 2 ? offered : [...agents];
        const answeredBy = rng.chance(0.75) ? rng.pick(ringing) : null;
        one('a queue call', { kind: 'queue', queue, agents: ringing, answeredBy, from: caller.e164, fromName: caller.name, talkSec: answeredBy ? talk() : 0, forms: forms(true) });
        break;
      }
      case 'overlap': {
        const [a, b] = [agent, rng.pick(agents.filter((x) => x !== agent))];
        const other = rng.pick(callers.filter((c) => c !== caller));
        steps.push({ kind: 'calls', story: 'two calls at once', scripts: [inbound(caller, a, true), inbound(other, b!, rng.chance(0.7))] });
        break;
      }
      case 'restart':
      case 'restartReusingIds': {
        const reuseCallIds = story === 'restartReusingIds';
        steps.push({ kind: 'restart', story: reuseCallIds ? 'a PBX restart that reuses call ids' : 'a PBX restart', reuseCallIds });
        one('the first call after a restart', inbound(caller, agents[0]!, true));
        break;
      }
      case 'cutByRestart': {
        const reuseCallIds = rng.chance(0.5);
        const ccForms = FORM_MIXES[rng.pick(WITH_CALL_CONTROL)]!;
        one(reuseCallIds ? 'a call cut off by a PBX restart that reuses call ids' : 'a call cut off by a PBX restart', { ...inbound(caller, agent, true), forms: ccForms, record: true, cutByRestart: { reuseCallIds } });
        break;
      }
      case 'outbound': {
        const answer = rng.chance(0.7);
        one('an outbound call', { kind: 'outbound', from: agent, to: caller.e164, toName: caller.name, answer, talkSec: answer ? talk() : 0, record: rng.chance(0.8), forms: forms(true) });
        break;
      }
    }
  }
  return { seed, agents, queue, callers, steps };
}

/** Calls in a scenario (for test names and the bench). */
export function scenarioCallCount(scenario: Scenario): number {
  return scenario.steps.reduce((n, s) => n + (s.kind === 'calls' ? s.scripts.length : 0), 0);
}

// Generated scenarios with an oracle (issue 8, item 16). Seeded call sequences — repeated calls from
// one number to one agent, an unrecorded call then a recorded one, a missed call then the call-back,
// queue calls, overlapping calls, PBX restarts with and without call-id reuse, a call cut off by a
// restart — go through a mix of
// the three 3CX forms, the real bus and one real agent per extension into each CRM simulator. For
// every PBX call the CRM must hold exactly one record, logged by the right agent, with the right
// contact, duration and recording bytes; the oracle is the 3CX simulator's own record of each call.
// Then the same again with a seeded 25 % of CRM requests failing (429 with Retry-After, 500, 503,
// a timeout after the write was applied). Seeds are fixed and named in each test, so a failure
// replays: generateScenario(seed) and faults.random({ seed: faultSeed }).
import { beforeAll, describe, expect, it } from 'vitest';
import { generateScenario, scenarioCallCount, SCENARIO_CRMS, type Scenario } from '../../src/sim/scenarios/index.js';
import { runScenarioChain, type ChainOptions, type ChainResult } from '../support/scenario-chain.js';

const SCENARIO_SEED = 20261207;
const FAULT_SEED = 4242;
const FAULT_RATE = 0.25;

const scenario: Scenario = generateScenario(SCENARIO_SEED);
const calls = scenarioCallCount(scenario);
const runs = SCENARIO_CRMS.flatMap((crm): ChainOptions[] => [
  { crm, scenario, settleMs: 12_000 },
  { crm, scenario, faults: { seed: FAULT_SEED, rate: FAULT_RATE, retryAfterSec: 1 }, settleMs: 20_000 },
]);
const results = new Map<ChainOptions, ChainResult>();

// Every chain at once: they mostly wait on simulated talk time, so the file takes as long as the slowest.
beforeAll(async () => {
  await Promise.all(runs.map(async (opts) => results.set(opts, await runScenarioChain(opts))));
}, 120_000);

function expectOracleAgrees(opts: ChainOptions): void {
  const { report, calls: placed } = results.get(opts)!;
  const where = `${opts.crm}, scenario seed ${opts.scenario.seed}${opts.faults ? `, fault seed ${opts.faults.seed}` : ''}`;
  expect(report.problems, `${report.problems.length} problem(s) (${where}):\n${report.problems.join('\n')}`).toEqual([]);
  expect(report.correct).toBe(placed);
  expect(report.recordingsMisattached).toBe(0);
}

describe(`generated scenario (seed ${SCENARIO_SEED}, ${calls} calls) through the three 3CX forms into each CRM`, () => {
  for (const opts of runs) {
    const name = opts.faults
      ? `${opts.crm}: the same with ${FAULT_RATE * 100} % of CRM requests failing at random (fault seed ${FAULT_SEED})`
      : `${opts.crm}: every PBX call is exactly one CRM record with the right agent, contact, duration and recording`;
    it(name, () => expectOracleAgrees(opts));
  }
});

describe('the scenario generator', () => {
  it('draws every situation the issue names in one scenario, and the same seed draws the same calls', () => {
    expect(generateScenario(SCENARIO_SEED)).toEqual(scenario);
    expect(generateScenario(SCENARIO_SEED + 1)).not.toEqual(scenario);
    expect(new Set(scenario.steps.map((step) => step.story))).toEqual(
      new Set([
        'opening call',
        'two calls from one number to one agent',
        'an unrecorded call, then a recorded one, from one number to one agent',
        'a missed call, then the call-back',
        'a queue call',
        'two calls at once',
        'a PBX restart',
        'a PBX restart that reuses call ids',
        'the first call after a restart',
        'an outbound call',
        scenario.steps.some((step) => step.story === 'a call cut off by a PBX restart') ? 'a call cut off by a PBX restart' : 'a call cut off by a PBX restart that reuses call ids',
      ]),
    );
    const forms = scenario.steps.flatMap((step) => (step.kind === 'calls' ? step.scripts.map((c) => c.forms!) : []));
    expect(forms.some((f) => f.template && !f.webhook && !f.callControl)).toBe(true);
    expect(forms.some((f) => f.webhook && !f.template && !f.callControl)).toBe(true);
    expect(forms.some((f) => f.callControl && !f.template && !f.webhook)).toBe(true);
  });
});

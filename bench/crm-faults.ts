// Every call logged while the CRM fails a quarter of its requests: the generated scenario
// (src/sim/scenarios) through the whole chain (3CX simulator, bus, one real agent per extension)
// into each CRM simulator, with a seeded 25 % of its API requests failing at random (429 with
// Retry-After 1 s, 500, 503, timeout after the write was applied). The agents keep the product's
// own backoff and request timeout; each CRM gets a bounded time after the last call to catch up.
// Run alone: `npm run bench -- --only crm-faults`.
import { generateScenario, SCENARIO_CRMS, type ScenarioCrmId } from '../src/sim/scenarios/index.js';
import { runScenarioChain, type ChainResult } from '../test/support/scenario-chain.js';
import { summarise, type Percentiles } from './stats.js';

export interface CrmFaultsBenchOptions {
  scenarioSeed?: number;
  faultSeed?: number;
  faultRate?: number;
  /** How long after the last call each CRM may take to hold every call. */
  boundMs?: number;
}

export interface CrmFaultsBenchResult {
  scenario_seed: number;
  fault_seed: number;
  fault_rate: number;
  bound_ms: number;
  calls_per_crm: number;
  /** Calls with exactly one correct CRM record / calls, per CRM, and the lowest. */
  logged_ratio: Record<ScenarioCrmId | 'min', number>;
  /** Call end (PBX) -> the agent saw it logged, over every logged call of every CRM. */
  logged: Percentiles;
  logged_p99_by_crm: Record<ScenarioCrmId, number>;
  /** Recording files on a record that are not its own call's, over every run. */
  recordings_misattached: number;
  /** The first oracle problems per CRM, to say why a ratio is below 1. */
  problems: Record<ScenarioCrmId, string[]>;
}

export async function benchCrmFaults(opts: CrmFaultsBenchOptions = {}): Promise<CrmFaultsBenchResult> {
  const scenarioSeed = opts.scenarioSeed ?? 20261207;
  const faultSeed = opts.faultSeed ?? 2512;
  const faultRate = opts.faultRate ?? 0.25;
  const boundMs = opts.boundMs ?? 90_000;
  const scenario = generateScenario(scenarioSeed);
  // The CRMs run side by side: most of the time is simulated talk and backoff, not CPU.
  const results = await Promise.all(
    SCENARIO_CRMS.map((crm) =>
      runScenarioChain({ crm, scenario, faults: { seed: faultSeed, rate: faultRate, retryAfterSec: 1 }, crmTimeoutMs: null, backoff: null, settleMs: boundMs }),
    ),
  );
  const byCrm = <T>(f: (r: ChainResult) => T) => Object.fromEntries(results.map((r) => [r.crm, f(r)])) as Record<ScenarioCrmId, T>;
  const ratios = byCrm((r) => Math.round((r.report.correct / r.calls) * 1000) / 1000);
  return {
    scenario_seed: scenarioSeed,
    fault_seed: faultSeed,
    fault_rate: faultRate,
    bound_ms: boundMs,
    calls_per_crm: results[0]?.calls ?? 0,
    logged_ratio: { ...ratios, min: Math.min(...Object.values(ratios)) },
    logged: summarise(results.flatMap((r) => r.loggedAfterMs)),
    logged_p99_by_crm: byCrm((r) => summarise(r.loggedAfterMs).p99),
    recordings_misattached: results.reduce((n, r) => n + r.report.recordingsMisattached, 0),
    problems: byCrm((r) => r.report.problems.slice(0, 5)),
  };
}

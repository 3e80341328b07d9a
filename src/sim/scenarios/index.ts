// Generated call scenarios with an oracle: generate.ts draws them from a seed, crms.ts reads back
// what each CRM simulator holds, oracle.ts says what it must hold and where it differs.
export { generateScenario, scenarioCallCount, SCENARIO_AGENTS, SCENARIO_QUEUE } from './generate.js';
export type { Scenario, ScenarioCaller, ScenarioOptions, ScenarioStep } from './generate.js';
export { startScenarioCrm, SCENARIO_CRMS } from './crms.js';
export type { ScenarioCrm, ScenarioCrmId } from './crms.js';
export { checkCrm, describeEntry, describeExpected, expectedLogs, sha256 } from './oracle.js';
export type { CrmCallEntry, ExpectedCallLog, OracleReport } from './oracle.js';

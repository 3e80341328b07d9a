// Public surface of the CRM simulator harness; see README.md.
export { startCrmSimulator, simError, isSimFile, Faults } from './simulator.js';
export type { CrmSimulator, CrmSimulatorOptions, Fault, FaultMatch, RandomFaultKind, RandomFaults, RateLimitDecision, RequestLogEntry, SimFile, StatusFault } from './simulator.js';
export { OAuthServer, s256 } from './oauth.js';
export type { OAuthSimOptions, IssuedTokens } from './oauth.js';
export { OpenApiValidator } from './openapi.js';
export { simSession } from './session.js';
export type { SimSession } from './session.js';

export { startPbxSimulator, parseODataFilter } from './simulator.js';
export type { PbxSimulator, PbxSimulatorOptions, PbxFaults, SimApiClient, SimExtension, MakeCallRequest } from './simulator.js';
export type { CallRecord, CallScript, FormSwitches, LegRecord, PlacedCall, RestartOptions } from './calls.js';
export type { BusTarget, Delivery } from './forms.js';
export * from './wire.js';
export { wavHeader, WAV_HEADER_BYTES } from './wav.js';

export { createPbxApiRegistry, pbxApiFor, type PbxApi, type PbxApiRegistry, type PbxApiCredentials } from './api.js';
export { createPbxGateway } from './gateway.js';
export { createConnectorRelay, type ConnectorRelay, type ConnectorRelayOptions } from './relay.js';
export { TokenRegistry, TokenSource } from './tokens.js';
export { PbxApiError } from './errors.js';
export { CallControlClient } from './callcontrol.js';
export { XapiClient } from './xapi.js';

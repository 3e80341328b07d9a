export { agentGateway } from './plugin.js';
export { Gateway, type GatewayOptions, type GatewayStats } from './gateway.js';

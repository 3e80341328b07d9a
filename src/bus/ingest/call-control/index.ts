export { CallControlConnector, type CallControlConnectorOptions, type ObservationSink } from './connector.js';
export { ParticipantTracker } from './tracker.js';
export { createRemoteSink, RemoteSinkFullError, type RemoteSink, type RemoteSinkOptions } from './remote-sink.js';
export { connectorRoutes, type ConnectorRoutesOptions } from './routes.js';
export { startConnectors, ingestorSink, type ConnectorManager, type StartConnectorsOptions } from './manager.js';
export { runRemoteConnector, readConfig } from './remote.js';

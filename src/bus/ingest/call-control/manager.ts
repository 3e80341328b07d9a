// Runs one Call Control connector per PBX whose socket the bus holds (connectorMode 'bus' with an
// API client configured), feeding the in-bus Ingestor.
import type { Logger } from 'pino';
import { createPbxApiRegistry, type PbxApiRegistry } from '../../pbx/api.js';
import type { EventLog } from '../../log/port.js';
import type { TenantStore } from '../../tenants/port.js';
import { IngestError } from '../normalise.js';
import type { Ingestor } from '../observation.js';
import type { ConnectorState } from '../../metrics.js';
import { CallControlConnector, type CallControlConnectorOptions, type ObservationSink } from './connector.js';
import type { OpenLegRecord } from './tracker.js';

export interface ConnectorManager {
  connectors: ReadonlyMap<string, CallControlConnector>;
  /** Each running connector's state (metrics). */
  states(): Iterable<ConnectorState>;
  /** Starts connectors for PBXs added since; stops those no longer eligible. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/** A connector's view of one PBX's open legs in the event log. */
export function openLegsIn(log: Pick<EventLog, 'openLegs' | 'dropOpenLegs'>, tenantId: string, pbxId: string): Pick<CallControlConnectorOptions, 'openLegs' | 'dropOpenLegs'> {
  return {
    openLegs: async () => (await log.openLegs(tenantId, pbxId)).map((l) => ({ extension: l.extension, event: l.logged.event, offset: l.logged.offset })),
    dropOpenLegs: (legs: OpenLegRecord[]) =>
      log.dropOpenLegs(tenantId, pbxId, legs.flatMap((l) => (l.offset === undefined ? [] : [{ pbxCallId: l.event.pbxCallId, extension: l.extension, offset: l.offset }]))),
  };
}

export interface StartConnectorsOptions extends Pick<CallControlConnectorOptions, 'backoff' | 'recordingPoll' | 'pingIntervalMs' | 'firstLookbackMs'> {
  tenants: TenantStore;
  ingestor: Ingestor;
  /** Where a connector learns which calls were in progress when it took the PBX over (see connector.ts). */
  log?: Pick<EventLog, 'openLegs' | 'dropOpenLegs'>;
  /** Share the gateway's registry so one token owner per client id serves both. */
  registry?: PbxApiRegistry;
  logger?: Logger;
}

/** The in-bus sink: a transition the log already holds (its deliveryId stored, even with other details) is not an error. */
export function ingestorSink(ingestor: Ingestor): ObservationSink {
  return async (observation) => {
    try {
      await ingestor.ingest(observation);
    } catch (err) {
      if (!(err instanceof IngestError && err.code === 'delivery-reused')) throw err;
    }
  };
}

export async function startConnectors(opts: StartConnectorsOptions): Promise<ConnectorManager> {
  const registry = opts.registry ?? createPbxApiRegistry({ tenants: opts.tenants });
  const connectors = new Map<string, CallControlConnector>();
  const states = new Map<CallControlConnector, ConnectorState>();
  const sink = ingestorSink(opts.ingestor);

  async function refresh(): Promise<void> {
    const eligible = (await opts.tenants.listPbxs()).filter((p) => p.connectorMode === 'bus' && p.apiClientId);
    const wanted = new Set(eligible.map((p) => p.id));
    for (const [id, connector] of connectors) {
      if (wanted.has(id)) continue;
      connectors.delete(id);
      states.delete(connector);
      await connector.stop();
    }
    for (const pbx of eligible) {
      if (connectors.has(pbx.id)) continue;
      try {
        const api = await registry.forPbx(pbx.id);
        const connector = new CallControlConnector({ api, sink, ...(opts.log ? openLegsIn(opts.log, pbx.tenantId, pbx.id) : {}), firstLookbackMs: opts.firstLookbackMs, logger: opts.logger, backoff: opts.backoff, recordingPoll: opts.recordingPoll, pingIntervalMs: opts.pingIntervalMs });
        connectors.set(pbx.id, connector);
        states.set(connector, 'connecting');
        const track = (state: ConnectorState) => () => {
          if (states.has(connector)) states.set(connector, state);
        };
        connector.on('ready', track('connected'));
        connector.on('disconnected', track('reconnecting'));
        connector.start();
      } catch (err) {
        opts.logger?.error({ pbxId: pbx.id, err: (err as Error).message }, 'call-control connector not started');
      }
    }
  }

  await refresh();
  return {
    connectors,
    states: () => states.values(),
    refresh,
    async stop() {
      await Promise.all([...connectors.values()].map((c) => c.stop()));
      connectors.clear();
      states.clear();
    },
  };
}

#!/usr/bin/env node
// The `ringbridge-connector` command and `npm run connector --`: the remote Call Control connector
// that runs beside a PBX the bus cannot reach, built from src/bus/ingest/call-control/remote.ts.
import { runBuilt } from './run-built.mjs';

await runBuilt('connector', 'ringbridge-connector');

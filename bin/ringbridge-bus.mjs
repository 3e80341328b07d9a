#!/usr/bin/env node
// The `ringbridge-bus` command and `npm run bus`: the bus built from src/bus/server.ts.
import { runBuilt } from './run-built.mjs';

await runBuilt('server', 'ringbridge-bus');

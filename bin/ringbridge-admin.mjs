#!/usr/bin/env node
// The `ringbridge-admin` command and `npm run admin --`: the admin CLI built from src/bus/cli/index.ts.
import { runBuilt } from './run-built.mjs';

await runBuilt('admin', 'ringbridge-admin');

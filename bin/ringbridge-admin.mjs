#!/usr/bin/env node
// The `ringbridge-admin` command (package.json bin). The CLI is TypeScript; tsx compiles it on load.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/bus/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));

// The bus (src/bus) and the agent (src/main) are two programs: neither imports the other's code,
// and the contracts both use live once in src/shared. The lint rule keeps it so as the tree grows.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintRuleIds as lint } from '../support/lint-probe.js';

const ROOT = join(import.meta.dirname, '..', '..');
const sourceFiles = (dir: string) =>
  readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
const importsFrom = (file: string, program: 'main' | 'bus') =>
  new RegExp(`(from\\s+|import\\s*\\(\\s*)['"][./]*/${program}/`).test(readFileSync(join(ROOT, file), 'utf8'));

describe('program boundaries', () => {
  it('no file of the bus imports the agent, and no agent code imports the bus', () => {
    expect(sourceFiles('src/bus').filter((f) => importsFrom(f, 'main'))).toEqual([]);
    // Tests too: a test that runs both programs lives in test/.
    expect(sourceFiles('src/main').filter((f) => importsFrom(f, 'bus'))).toEqual([]);
    expect(sourceFiles('src/shared').filter((f) => importsFrom(f, 'main') || importsFrom(f, 'bus'))).toEqual([]);
  });

  it('lints an import across the programs, and lets src/shared and test/ be imported from both', async () => {
    const agentImport = "import type { CrmProvider } from '../../main/crm/port.js';\nexport type P = CrmProvider;\n";
    const busImport = "import type { Agent } from '../../bus/tenants/port.js';\nexport type A = Agent;\n";
    const sharedImport = "import type { CrmId } from '../../shared/crm.js';\nexport type C = CrmId;\n";
    expect(await lint('src/bus/oauth-broker/extra.ts', agentImport)).toEqual(['no-restricted-imports']);
    expect(await lint('src/main/oauth/extra.ts', busImport)).toEqual(['no-restricted-imports']);
    expect(await lint('src/main/electron/extra.ts', busImport)).toEqual(['no-restricted-imports']);
    expect(await lint('src/shared/extra/extra.ts', agentImport)).toEqual(['no-restricted-imports']);
    expect(await lint('src/bus/oauth-broker/extra.ts', sharedImport)).toEqual([]);
    expect(await lint('src/main/oauth/extra.ts', sharedImport)).toEqual([]);
    expect(await lint('test/oauth/extra.ts', `${agentImport}${busImport}`)).toEqual([]);
  });

  it('lints an import of test/ from production code, and lets tests beside the code import test helpers', async () => {
    const testImport = "import { makeCallEvent } from '../../../test/support/make-call-event.js';\nexport const e = makeCallEvent();\n";
    expect(await lint('src/bus/log/extra.ts', testImport)).toEqual(['@typescript-eslint/no-restricted-imports']);
    expect(await lint('src/main/outbox/extra.ts', testImport)).toEqual(['@typescript-eslint/no-restricted-imports']);
    expect(await lint('src/bus/log/extra.test.ts', testImport)).toEqual([]);
  });
});

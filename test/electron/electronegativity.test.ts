// The Electronegativity gate .ci/run runs (scripts/electronegativity.ts): the real scanner, offline,
// on the sources and on a file with a new problem, judged against the committed explanations.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AllowlistSchema, electronVersion, judge, scan, type Finding } from '../../scripts/electronegativity.js';

const ROOT = join(import.meta.dirname, '..', '..');
const allowlist = AllowlistSchema.parse(JSON.parse(readFileSync(join(ROOT, 'scripts', 'electronegativity-allowlist.json'), 'utf8')));

const finding = (over: Partial<Finding>): Finding => ({ check: 'OPEN_EXTERNAL_JS_CHECK', severity: 'MEDIUM', file: 'src/a.ts', line: 1, sample: 'x', ...over });

describe('electronegativity gate', () => {
  it('leaves no high or medium finding in the sources unexplained, and no explanation of one that is gone', async () => {
    const findings = await scan(join(ROOT, 'src'), 'src/', electronVersion());
    const { unexplained, stale } = judge(findings, allowlist.filter((e) => e.file.startsWith('src/')));
    expect(unexplained).toEqual([]);
    expect(stale).toEqual([]);
  }, 120_000);

  it('fails on a new finding: a window without context isolation or sandbox', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'electronegativity-'));
    writeFileSync(
      join(dir, 'evil.js'),
      "const { BrowserWindow } = require('electron');\nnew BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false } });\n",
    );
    const { unexplained } = judge(await scan(dir, 'src/', electronVersion()), allowlist);
    expect(unexplained.map((f) => f.check)).toEqual(expect.arrayContaining(['CONTEXT_ISOLATION_JS_CHECK', 'SANDBOX_JS_CHECK', 'LIMIT_NAVIGATION_GLOBAL_CHECK']));
  }, 120_000);

  it('judges only high and medium, matches an explanation by check, file and flagged line, and reports stale ones', () => {
    const explained = { check: 'OPEN_EXTERNAL_JS_CHECK', file: 'out/main/index.js', sample: 'shell.openExternal(verdict.url)', why: 'the one checked gate in front of the OS' };
    const gate = finding({ file: 'out/main/index.js', sample: 'await  shell.openExternal(verdict.url);' });
    const other = finding({ file: 'out/main/index.js', sample: 'shell.openExternal(anything)' });
    const low = finding({ severity: 'LOW', check: 'CSP_GLOBAL_CHECK' });
    expect(judge([gate, other, low], [explained])).toEqual({ unexplained: [other], stale: [] });
    expect(judge([low], [explained])).toEqual({ unexplained: [], stale: [explained] });
  });

  it('refuses an explanation without a reason', () => {
    expect(AllowlistSchema.safeParse([{ check: 'X', file: 'src/a.ts', why: 'ok' }]).success).toBe(false);
  });
});

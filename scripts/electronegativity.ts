// Electronegativity (Doyensec's Electron scanner, from npm) over the agent's sources and the app
// electron-vite built (out/main, out/preload, out/renderer), offline: the Electron version is
// given and AvailableSecurityFixesGlobalCheck (which downloads Electron's release list) is left
// out. Every HIGH or MEDIUM finding must be explained in scripts/electronegativity-allowlist.json;
// a new one, or an explanation nothing needs any more, fails the run. .ci/run runs this after the build.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';

const require = createRequire(import.meta.url);
const ROOT = join(import.meta.dirname, '..');

export interface Finding {
  check: string;
  severity: string;
  /** Path from the repository root (src/... or out/...). */
  file: string;
  line: number;
  sample: string;
}

const ExplanationSchema = z
  .object({
    check: z.string().min(1),
    file: z.string().min(1),
    /** Part of the flagged line, when a file has several findings of one check. */
    sample: z.string().min(1).optional(),
    why: z.string().min(20),
  })
  .strict();
export type Explanation = z.infer<typeof ExplanationSchema>;
export const AllowlistSchema = z.array(ExplanationSchema);

const JUDGED = new Set(['HIGH', 'MEDIUM']);
const squash = (text: string) => text.replace(/\s+/g, ' ').trim();
const explains = (e: Explanation, f: Finding) => e.check === f.check && e.file === f.file && (e.sample === undefined || squash(f.sample).includes(squash(e.sample)));

/** HIGH/MEDIUM findings no explanation covers, and explanations that cover no finding. */
export function judge(findings: Finding[], allowlist: Explanation[]): { unexplained: Finding[]; stale: Explanation[] } {
  const judged = findings.filter((f) => JUDGED.has(f.severity));
  return {
    unexplained: judged.filter((f) => !allowlist.some((e) => explains(e, f))),
    stale: allowlist.filter((e) => !judged.some((f) => explains(e, f))),
  };
}

interface RawIssue {
  id: string;
  severity: { name: string };
  file: string;
  location?: { line?: number };
  sample?: string;
}
type Run = (options: Record<string, unknown>, forCli: boolean) => Promise<{ issues: RawIssue[] }>;

/** Runs the scanner on `dir`; `label` prefixes the reported paths. */
export async function scan(dir: string, label: string, electronVersion: string): Promise<Finding[]> {
  const run = require('@doyensec/electronegativity') as Run;
  const { issues } = await run(
    { input: dir, electronVersionOverride: electronVersion, excludeFromScan: ['AvailableSecurityFixesGlobalCheck'], isRelative: true },
    false,
  );
  return issues.map((i) => ({
    check: i.id,
    severity: i.severity.name,
    file: i.file === 'N/A' ? `${label}(global)` : `${label}${i.file}`,
    line: i.location?.line ?? 0,
    sample: i.sample ?? '',
  }));
}

export function electronVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(): Promise<number> {
  const version = electronVersion();
  // The built app alone, without out/bus (the server bundle is not Electron code).
  const app = mkdtempSync(join(tmpdir(), 'electronegativity-'));
  try {
    for (const part of ['main', 'preload', 'renderer']) cpSync(join(ROOT, 'out', part), join(app, part), { recursive: true });
    const findings = [...(await scan(join(ROOT, 'src'), 'src/', version)), ...(await scan(app, 'out/', version))];
    const allowlist = AllowlistSchema.parse(JSON.parse(readFileSync(join(ROOT, 'scripts', 'electronegativity-allowlist.json'), 'utf8')));
    const { unexplained, stale } = judge(findings, allowlist);
    const judged = findings.filter((f) => JUDGED.has(f.severity)).length;
    console.log(`electronegativity (Electron ${version}): ${findings.length} findings, ${judged} high/medium, ${judged - unexplained.length} explained in scripts/electronegativity-allowlist.json`);
    for (const f of unexplained) console.log(`UNEXPLAINED ${f.severity} ${f.check} ${f.file}:${f.line} ${squash(f.sample).slice(0, 160)}`);
    for (const e of stale) console.log(`STALE explanation (no such finding any more; remove it): ${e.check} ${e.file} ${e.sample ?? ''}`);
    return unexplained.length + stale.length === 0 ? 0 : 1;
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();

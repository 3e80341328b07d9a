// Lints code as if it sat at a path in the repository (a file that need not exist), for the tests of
// the lint rules that keep the boundaries. Such a file is in no tsconfig, so the type-aware promise
// rules (and the project service behind them) are off for it; every other rule applies as configured.
import { join } from 'node:path';
import { ESLint } from 'eslint';

const ROOT = join(import.meta.dirname, '..', '..');
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

/** The rule id of each problem ESLint reports for `code` at `filePath` (relative to the repository root). */
export async function lintRuleIds(filePath: string, code: string): Promise<Array<string | null>> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  return (result?.messages ?? []).map((m) => m.ruleId);
}

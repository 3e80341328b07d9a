// Where the vendors' official API files live: /work/shared beside the repo, in CI too (../shared).
import { resolve } from 'node:path';

export const CRM_SPECS_DIR = resolve(import.meta.dirname, '../../../../../shared/specs/crm');

/** Absolute path of a file under specs/crm, e.g. crmSpec('hubspot/openapi/crm-calls-v3.json'). */
export function crmSpec(relative: string): string {
  return resolve(CRM_SPECS_DIR, relative);
}

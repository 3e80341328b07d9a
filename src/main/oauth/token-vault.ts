// CRM token sets, kept only through the SecretStore port (safeStorage in the app). Nothing here
// logs, and TokenSet never crosses to the renderer: the UI only learns "signed in" or not.
import type { CrmId } from '../../shared/crm.js';
import { Signal } from '../signal.js';
import type { SecretStore } from '../storage/secret-store.js';
import { type TokenSet, TokenSetSchema } from './token-set.js';

export class TokenVault {
  /** Fires with the CRM id whenever its tokens are replaced or removed (sessions drop their cache). */
  readonly changed = new Signal<CrmId>();

  constructor(private readonly secrets: SecretStore) {}

  async load(crm: CrmId): Promise<TokenSet | null> {
    const raw = await this.secrets.get(secretName(crm));
    if (!raw) return null;
    try {
      const parsed = TokenSetSchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : null;
    } catch {
      return null; // unreadable entry: treated as signed out, never echoed
    }
  }

  async save(crm: CrmId, tokens: TokenSet): Promise<void> {
    await this.secrets.set(secretName(crm), JSON.stringify(tokens));
    this.changed.emit(crm);
  }

  async clear(crm: CrmId): Promise<void> {
    await this.secrets.delete(secretName(crm));
    this.changed.emit(crm);
  }
}

function secretName(crm: CrmId): string {
  return `crm.${crm}.tokens`;
}

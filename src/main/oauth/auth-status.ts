// "Sign in again", said once. A dead grant flips the CRM to needs-sign-in and fires one signal
// for the UI; until a new sign-in succeeds, sessions fail fast (no request loop) and the outbox
// keeps calls queued. A successful sign-in fires `signedIn`, on which the outbox resumes.
import type { CrmId } from '../../shared/crm.js';
import { Signal } from '../signal.js';

export interface SignInRequired {
  crm: CrmId;
  reason: string;
}

export class AuthStatus {
  readonly signInRequired = new Signal<SignInRequired>();
  readonly signedIn = new Signal<CrmId>();
  private readonly lost = new Map<CrmId, string>();

  needsSignIn(crm: CrmId): boolean {
    return this.lost.has(crm);
  }

  reason(crm: CrmId): string | null {
    return this.lost.get(crm) ?? null;
  }

  /** Marks the grant as gone; only the first call after a good state emits. */
  grantLost(crm: CrmId, reason: string): void {
    if (this.lost.has(crm)) return;
    this.lost.set(crm, reason);
    this.signInRequired.emit({ crm, reason });
  }

  grantRestored(crm: CrmId): void {
    this.lost.delete(crm);
    this.signedIn.emit(crm);
  }
}

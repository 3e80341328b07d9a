// The agent's CRM user (`agent add --crm-user`) is what the admin typed: the CRM's own user id, or the
// user's e-mail. Every CRM wants its own id as owner (HubSpot a numeric owner id, Salesforce a User
// Id, Zoho a numeric user id, HighLevel a user id), so each adapter resolves it here, once per
// e-mail, and never sends an owner the CRM cannot take.
import { z } from 'zod';
import { CrmError, type CallLogInput, type OwnerResolution } from './port.js';

/** What one CRM tells the resolver. */
export interface OwnerDirectory {
  /** The CRM's name in the reasons ("HubSpot"). */
  crm: string;
  /** The id its owner fields take, with its article ("an owner id", "a user id"). */
  idName: string;
  /** True when the text already is such an id. */
  isId(user: string): boolean;
  /**
   * The active user with this e-mail (lower-cased): their id, null when there is none, or why none
   * can be picked (several share it). Throws CrmError like any request.
   */
  userByEmail(email: string): Promise<OwnerResolution | null>;
}

/** The owner a write gets and, when a configured CRM user has none, the line its body carries. */
export interface WriteOwner {
  id: string | null;
  note: string | null;
}

export class OwnerResolver {
  /** The answer per e-mail (lower-cased), asked once per adapter. */
  private readonly byEmail = new Map<string, Promise<OwnerResolution>>();

  constructor(private readonly directory: OwnerDirectory) {}

  resolve(crmUser: string): Promise<OwnerResolution> {
    const { crm, idName } = this.directory;
    const user = crmUser.trim();
    if (this.directory.isId(user)) return Promise.resolve({ id: user });
    if (!z.email().safeParse(user).success) {
      return Promise.resolve({ id: null, reason: `the agent's ${crm} user "${user}" is neither ${idName} nor an e-mail` });
    }
    const email = user.toLowerCase();
    let found = this.byEmail.get(email);
    if (!found) {
      found = this.lookUp(user);
      this.byEmail.set(email, found);
      // A lookup that failed (429, 5xx, sign-in) is asked again next time, not remembered.
      found.catch(() => this.byEmail.delete(email));
    }
    return found;
  }

  /** For a write: no CRM user means no owner and nothing to say. */
  async forWrite(crmUser: string | null): Promise<WriteOwner> {
    if (!crmUser?.trim()) return { id: null, note: null };
    const owner = await this.resolve(crmUser);
    return owner.id !== null ? { id: owner.id, note: null } : { id: null, note: `Ringbridge: ${owner.reason}, so this has no owner.` };
  }

  /** The call as the CRM may take it: the owner's id, or none and the notes saying why. */
  async forCall(input: CallLogInput): Promise<CallLogInput> {
    const owner = await this.forWrite(input.ownerId);
    return { ...input, ownerId: owner.id, notes: withOwnerNote(input.notes, owner) };
  }

  private async lookUp(user: string): Promise<OwnerResolution> {
    const { crm } = this.directory;
    try {
      return (await this.directory.userByEmail(user.toLowerCase())) ?? { id: null, reason: `no active ${crm} user has the e-mail ${user}` };
    } catch (error) {
      // A refusal (e.g. a sign-in without the users scope) must not stop calls being logged.
      if (!(error instanceof CrmError) || error.kind !== 'rejected') throw error;
      return { id: null, reason: `${crm} refused to look up the owner ${user} (${error.message})` };
    }
  }
}

/** The notes with the owner's note, if any, as their last paragraph. */
export function withOwnerNote(notes: string, owner: WriteOwner): string {
  return [notes, owner.note].filter(Boolean).join('\n\n');
}

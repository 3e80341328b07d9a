/**
 * Local contact index and caller resolution.
 *
 * - `new ContactIndex({ defaultCountry: () => cc, preferredOwner? })`: `upsert(CrmContact)`,
 *   `remove(id)`, `lookup(e164): IndexedContact[]` (agent's own first, then most recent activity),
 *   `setPreferredOwner(crmUserId)`, `size`, `clear()`. The CRM sync (crm-link/contact-sync) feeds `upsert`.
 * - `ContactSource` port: `lookupRemote(e164)` for misses; `MemoryContactSource` for tests/demo.
 * - `new ContactResolver(index, source, logger).resolve(e164, onRemote?)`: synchronous local answer;
 *   on a miss starts the remote lookup and calls `onRemote(contacts)` when it answers.
 */
export { ContactIndex, IndexedContact, type ContactIndexOptions } from './contact-index.js';
export { ContactResolver, MemoryContactSource, type ContactSource, type RemoteAnswer } from './resolver.js';

// SecretStore backed by safeStorage (OS keychain/DPAPI/libsecret) and an electron-store file of
// ciphertexts. Refuses rather than falling back to plaintext; see policy/secret-vault.ts.
import { safeStorage } from 'electron';
import Store from 'electron-store';
import { EncryptedSecretStore } from './policy/secret-vault.js';
import type { ShellLogger } from './logger.js';

export function createSecretStore(log: ShellLogger): EncryptedSecretStore {
  // Dot notation off: secret names are flat keys, never paths into nested objects.
  const file = new Store<Record<string, string>>({ name: 'secrets', accessPropertiesByDotNotation: false });
  const vault = new EncryptedSecretStore(
    safeStorage,
    { get: (key) => file.get(key), set: (key, value) => file.set(key, value), delete: (key) => file.delete(key) },
    process.platform,
    log,
  );
  try {
    log.info({ backend: vault.assertUsable() }, 'secret storage ready');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'secret storage unavailable: pairing and CRM sign-in will be refused');
  }
  return vault;
}

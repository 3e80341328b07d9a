import { describe, expect, it, vi } from 'vitest';
import { EncryptedSecretStore, SecretsUnavailableError, type OsCipher } from './secret-vault.js';

/** Reversible stand-in for safeStorage: enough to see that what is stored is not the secret. */
function cipher(over: Partial<OsCipher> = {}): OsCipher {
  return {
    isEncryptionAvailable: () => true,
    encryptString: (s) => Buffer.from(`enc:${Buffer.from(s).reverse().toString('hex')}`),
    decryptString: (b) => Buffer.from(b.toString().slice(4), 'hex').reverse().toString(),
    getSelectedStorageBackend: () => 'gnome_libsecret',
    ...over,
  };
}

function file() {
  const data = new Map<string, unknown>();
  return { data, get: (k: string) => data.get(k), set: (k: string, v: string) => void data.set(k, v), delete: (k: string) => void data.delete(k) };
}

const log = { warn: vi.fn() };
const SECRET = 'device-token-0123456789abcdef';

describe('encrypted secret store', () => {
  it('round-trips a secret and never writes it in plaintext', async () => {
    const f = file();
    const store = new EncryptedSecretStore(cipher(), f, 'linux', log);
    await store.set('device', SECRET);
    expect(await store.get('device')).toBe(SECRET);
    expect(JSON.stringify([...f.data])).not.toContain(SECRET);
    expect(f.data.get('backend')).toBe('gnome_libsecret');
    await store.delete('device');
    expect(await store.get('device')).toBeUndefined();
  });

  it('refuses to store anything when encryption is unavailable', async () => {
    const f = file();
    const store = new EncryptedSecretStore(cipher({ isEncryptionAvailable: () => false }), f, 'win32', log);
    await expect(store.set('device', SECRET)).rejects.toBeInstanceOf(SecretsUnavailableError);
    expect(f.data.size).toBe(0);
  });

  it.each(['basic_text', 'unknown'])('refuses the Linux %s backend (plaintext in disguise)', async (backend) => {
    const f = file();
    const store = new EncryptedSecretStore(cipher({ getSelectedStorageBackend: () => backend }), f, 'linux', log);
    await expect(store.set('device', SECRET)).rejects.toThrow(/keyring/);
    await expect(store.get('device')).rejects.toThrow(/keyring/);
    expect(f.data.size).toBe(0);
  });

  it('treats a secret stored under another keyring as absent instead of failing startup', async () => {
    const f = file();
    await new EncryptedSecretStore(cipher(), f, 'linux', log).set('device', SECRET);
    const kwallet = new EncryptedSecretStore(cipher({ getSelectedStorageBackend: () => 'kwallet5' }), f, 'linux', log);
    expect(await kwallet.get('device')).toBeUndefined();
    expect(log.warn).toHaveBeenCalled();
  });

  it('uses the system keychain on Windows and macOS', () => {
    expect(new EncryptedSecretStore(cipher({ getSelectedStorageBackend: undefined }), file(), 'darwin', log).assertUsable()).toBe('system');
  });
});

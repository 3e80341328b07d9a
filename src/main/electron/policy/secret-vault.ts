// SecretStore over an OS-encrypted cipher (Electron safeStorage) and a plain key-value file
// (electron-store). It refuses to work rather than keep a secret in plaintext: no encryption, or
// Linux's `basic_text` backend (a hard-coded key, i.e. plaintext in disguise), means no secrets.
import type { SecretStore } from '../../storage/secret-store.js';

/** The slice of Electron's safeStorage this needs. */
export interface OsCipher {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only: which keyring backs the key. */
  getSelectedStorageBackend?(): string;
}

export interface VaultFile {
  get(key: string): unknown;
  set(key: string, value: string): void;
  delete(key: string): void;
}

export interface VaultLogger {
  warn(obj: object, msg: string): void;
}

/** Linux backends that do not actually protect the key. */
const WEAK_LINUX_BACKENDS = new Set(['basic_text', 'unknown']);
const NAME = /^[a-z0-9][a-z0-9._:-]{0,127}$/i;
const BACKEND_KEY = 'backend';

export class SecretsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsUnavailableError';
  }
}

export class EncryptedSecretStore implements SecretStore {
  constructor(
    private readonly cipher: OsCipher,
    private readonly file: VaultFile,
    private readonly platform: NodeJS.Platform,
    private readonly log: VaultLogger,
  ) {}

  /** The backend name to show and record; throws when secrets cannot be kept safely here. */
  assertUsable(): string {
    if (!this.cipher.isEncryptionAvailable()) {
      throw new SecretsUnavailableError('This system offers no encrypted storage, so Ringbridge will not keep credentials.');
    }
    if (this.platform !== 'linux') return 'system';
    const backend = this.cipher.getSelectedStorageBackend?.() ?? 'unknown';
    if (WEAK_LINUX_BACKENDS.has(backend)) {
      throw new SecretsUnavailableError(
        `No desktop keyring is available (backend "${backend}"); unlock or install one (GNOME Keyring, KWallet) so credentials are encrypted.`,
      );
    }
    return backend;
  }

  async get(name: string): Promise<string | undefined> {
    const backend = this.assertUsable();
    const stored = this.file.get(secretKey(name));
    if (typeof stored !== 'string') return undefined;
    const recorded = this.file.get(BACKEND_KEY);
    if (recorded !== backend) {
      // Encrypted under another keyring: unreadable here. Treat as absent; the user pairs or signs in again.
      this.log.warn({ recorded, backend, secret: name }, 'secret was stored under another keyring backend');
      return undefined;
    }
    try {
      return this.cipher.decryptString(Buffer.from(stored, 'base64'));
    } catch {
      this.log.warn({ secret: name }, 'secret could not be decrypted');
      return undefined;
    }
  }

  async set(name: string, value: string): Promise<void> {
    const backend = this.assertUsable();
    this.file.set(secretKey(name), this.cipher.encryptString(value).toString('base64'));
    this.file.set(BACKEND_KEY, backend);
  }

  async delete(name: string): Promise<void> {
    this.file.delete(secretKey(name));
  }
}

function secretKey(name: string): string {
  if (!NAME.test(name)) throw new Error('invalid secret name');
  return `secret.${name}`;
}

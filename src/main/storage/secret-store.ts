// Secrets (device token, CRM tokens). The Electron glue implements this with safeStorage-encrypted
// values in electron-store and must refuse to work rather than store plaintext; the capabilities
// only ever see this port.
export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
}

/** For tests and the terminal demo only: secrets live in memory and die with the process. */
export class MemorySecretStore implements SecretStore {
  private readonly secrets = new Map<string, string>();

  async get(name: string): Promise<string | undefined> {
    return this.secrets.get(name);
  }

  async set(name: string, value: string): Promise<void> {
    this.secrets.set(name, value);
  }

  async delete(name: string): Promise<void> {
    this.secrets.delete(name);
  }
}

/**
 * Small persistence ports for the agent's capabilities.
 *
 * - `KeyValueStore` (non-secrets, JSON validated with zod on read): `FileKeyValueStore(dir)` writes
 *   one file per key atomically; `MemoryKeyValueStore` for tests.
 * - `SecretStore` (async string secrets): the Electron glue implements it with safeStorage +
 *   electron-store and never falls back to plaintext; `MemorySecretStore` for tests/demo.
 */
export { FileKeyValueStore, MemoryKeyValueStore, type KeyValueStore } from './key-value.js';
export { MemorySecretStore, type SecretStore } from './secret-store.js';

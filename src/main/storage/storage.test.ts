import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FileKeyValueStore, MemorySecretStore } from './index.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-kv-'));
  dirs.push(dir);
  return dir;
}

const Position = z.object({ offset: z.number(), epoch: z.string() });

describe('FileKeyValueStore', () => {
  it('round-trips JSON across instances and leaves no temp files behind', () => {
    const dir = tempDir();
    new FileKeyValueStore(dir).set('bus.position', { offset: 7, epoch: 'e1' });
    expect(new FileKeyValueStore(dir).get('bus.position', Position)).toEqual({ offset: 7, epoch: 'e1' });
    expect(readdirSync(dir)).toEqual(['bus.position.json']);
  });

  it('treats a corrupt or schema-mismatched file as absent', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bus.position.json'), '{"offset": 7, "ep');
    const store = new FileKeyValueStore(dir);
    expect(store.get('bus.position', Position)).toBeUndefined();
    store.set('bus.position', { offset: 'x' });
    expect(store.get('bus.position', Position)).toBeUndefined();
  });

  it('deletes keys and refuses keys that could escape the directory', () => {
    const store = new FileKeyValueStore(tempDir());
    store.set('a', 1);
    store.delete('a');
    expect(store.get('a', z.number())).toBeUndefined();
    expect(() => store.set('../evil', 1)).toThrow(/invalid store key/);
  });
});

describe('MemorySecretStore', () => {
  it('gets, sets and deletes secrets', async () => {
    const secrets = new MemorySecretStore();
    await secrets.set('deviceToken', 'x'.repeat(20));
    expect(await secrets.get('deviceToken')).toBe('x'.repeat(20));
    await secrets.delete('deviceToken');
    expect(await secrets.get('deviceToken')).toBeUndefined();
  });
});

// Non-secret persistence: one JSON file per key under the data directory, written atomically
// (temp file + fsync + rename) so a crash leaves the old or the new value, never half of one.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';

export interface KeyValueStore {
  /** The stored value when it parses with `schema`; undefined when absent or unreadable. */
  get<T>(key: string, schema: z.ZodType<T>): T | undefined;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

const KEY = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`invalid store key "${key}"`);
  return key;
}

export class FileKeyValueStore implements KeyValueStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(key: string): string {
    return join(this.dir, `${checkKey(key)}.json`);
  }

  get<T>(key: string, schema: z.ZodType<T>): T | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const parsed = schema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined; // corrupt file: behave as absent, the next set() replaces it
    }
  }

  set(key: string, value: unknown): void {
    const target = this.path(key);
    const temp = `${target}.${process.pid}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(value));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  }

  delete(key: string): void {
    rmSync(this.path(key), { force: true });
  }
}

/** For tests and the bench: same contract, values deep-copied through JSON like the file store. */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly values = new Map<string, string>();

  get<T>(key: string, schema: z.ZodType<T>): T | undefined {
    const text = this.values.get(checkKey(key));
    if (text === undefined) return undefined;
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  }

  set(key: string, value: unknown): void {
    this.values.set(checkKey(key), JSON.stringify(value));
  }

  delete(key: string): void {
    this.values.delete(checkKey(key));
  }
}

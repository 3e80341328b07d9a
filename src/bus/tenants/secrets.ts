// How the bus makes, stores and checks credentials. Credentials the bus only has to recognise
// (device tokens, pairing codes) are kept as SHA-256 hashes; credentials it must use again
// (webhook secrets, template keys, connector tokens, the 3CX API secret) are sealed with
// AES-256-GCM under the master key. Nothing here logs.
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MASTER_KEY_FILE = 'master.key';
export const PAIRING_CODE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

export function newDeviceToken(): string {
  return `rbd_${randomBytes(32).toString('base64url')}`;
}

/** Standard Webhooks v1 secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function newTemplateKey(): string {
  return `rbt_${randomBytes(32).toString('base64url')}`;
}

export function newConnectorToken(): string {
  return `rbc_${randomBytes(32).toString('base64url')}`;
}

// No 0/O, 1/I/L, 5/S, 2/Z: a code read aloud or copied from paper still works.
const PAIRING_ALPHABET = 'ABCDEFGHJKMNPQRTUVWXY346789';

/** 12 characters in groups of four (`ABCD-EFGH-JKMN`), about 57 bits: enough for a one-time, rate-limited code. */
export function newPairingCode(): string {
  const chars = Array.from({ length: 12 }, () => PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)]).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
}

/** What a person may type for a code: any case, spaces or dashes anywhere. */
export function canonicalPairingCode(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time equality for secrets of any length (compares digests, so lengths never leak). */
export function secretEquals(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** True when `presented` equals any of `candidates`; checks all of them so timing does not tell which. */
export function matchesAnySecret(presented: string, candidates: readonly string[]): boolean {
  let matched = false;
  for (const candidate of candidates) matched = secretEquals(presented, candidate) || matched;
  return matched;
}

/** AES-256-GCM sealing: output is `v1.<iv>.<tag>.<ciphertext>` in base64url. */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('master key must be 32 bytes');
    this.key = Buffer.from(key);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), body].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || iv === undefined || tag === undefined || body === undefined) {
      throw new Error('sealed secret has an unknown format');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/**
 * The master key: from configuration when given, else `master.key` in the data directory,
 * created with mode 0600 on first use. Losing it makes the stored webhook secrets unreadable.
 */
export function loadMasterKey(opts: { configured: Buffer | null; dataDir: string }): Buffer {
  if (opts.configured) return opts.configured;
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const file = join(opts.dataDir, MASTER_KEY_FILE);
  if (!existsSync(file)) {
    try {
      writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  chmodSync(file, 0o600);
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold base64 of 32 bytes`);
  return key;
}

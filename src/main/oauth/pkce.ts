// PKCE (RFC 7636, S256) and the OAuth `state`: random values from the OS CSPRNG.
import { createHash, randomBytes } from 'node:crypto';

export interface PkcePair {
  /** 43-128 chars from the unreserved set; base64url of 32 random bytes gives 43. */
  verifier: string;
  /** BASE64URL(SHA256(verifier)). */
  challenge: string;
  method: 'S256';
}

export function createPkcePair(): PkcePair {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: pkceChallenge(verifier), method: 'S256' };
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** Unguessable `state` binding the browser callback to the sign-in that started it. */
export function createState(): string {
  return randomBytes(24).toString('base64url');
}

// Short-lived recording links: the claims travel in the URL, signed with HMAC-SHA256 under the bus
// secret, so the download route needs no server-side session and a forged or stale link fails.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const GrantClaimsSchema = z.object({
  /** tenant, agent, PBX, 3CX recording id, CallEvent id, expiry (ms since epoch) */
  t: z.string(),
  a: z.string(),
  p: z.string(),
  r: z.string(),
  e: z.string(),
  x: z.number().int(),
});
export type GrantClaims = z.infer<typeof GrantClaimsSchema>;

export type VerifiedGrant = { ok: true; claims: GrantClaims } | { ok: false; reason: 'invalid' } | { ok: false; reason: 'expired'; claims: GrantClaims };

export class GrantSigner {
  private readonly key: Buffer;

  constructor(secret: string | Buffer) {
    this.key = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
    if (this.key.length < 32) throw new Error('the recording grant secret must be at least 32 bytes');
  }

  sign(claims: GrantClaims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  verify(token: string, nowMs: number): VerifiedGrant {
    const [payload, mac, extra] = token.split('.');
    if (!payload || !mac || extra !== undefined || token.length > 2048) return { ok: false, reason: 'invalid' };
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    const claims = GrantClaimsSchema.safeParse(json);
    if (!claims.success) return { ok: false, reason: 'invalid' };
    return claims.data.x > nowMs ? { ok: true, claims: claims.data } : { ok: false, reason: 'expired', claims: claims.data };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}

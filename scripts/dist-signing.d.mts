/** See dist-signing.mjs. */
export function windowsSigning(args: string[], env: Record<string, string | undefined>, platform: string): { args: string[]; refusal: string | null };

import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiToken, Scope } from '../../../config/index.ts';
import type { Principal, Verifier } from './principal.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

const SCOPES: Record<Scope, ReadonlySet<Scope>> = {
  read: new Set(['read']),
  write: new Set(['read', 'write']),
};

/**
 * Static bearer tokens (API_TOKENS). Comparing SHA-256 digests makes every comparison the same
 * length, and every token is compared on every call, so timing tells nothing about a token's
 * prefix, its length, or which entry matched.
 */
export function tokenVerifier(tokens: readonly ApiToken[]): Verifier {
  const known = tokens.map((t, i) => ({
    digest: digest(t.token),
    principal: { subject: `token#${i + 1}`, scopes: SCOPES[t.scope] } satisfies Principal,
  }));
  return (credential) => {
    const candidate = digest(credential);
    let found: Principal | undefined;
    for (const entry of known) {
      if (timingSafeEqual(entry.digest, candidate)) found ??= entry.principal;
    }
    return found;
  };
}

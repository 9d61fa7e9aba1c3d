import type { Scope } from '../../../config/index.ts';

/** Who made a request, as far as access control needs to know. Never holds the credential. */
export interface Principal {
  /**
   * For logs and idempotency scopes: `token#2` (its place in API_TOKENS), `jwt:<sub>`, or
   * `jwt-client:<azp or client_id>` for a token without `sub`; never the secret itself.
   */
  subject: string;
  scopes: ReadonlySet<Scope>;
}

/**
 * Checks one bearer credential: a Principal when valid, undefined when not. Throws a
 * ProblemError when it cannot tell (the issuer's keys are unreachable), or when it refuses a
 * valid credential for a reason the client should read (UNAUTHENTICATED, e.g. no subject).
 */
export type Verifier = (
  credential: string,
) => Principal | undefined | Promise<Principal | undefined>;

import type { Scope } from '../../../config/index.ts';

/** Who made a request, as far as access control needs to know. Never holds the credential. */
export interface Principal {
  /** For logs: `token#2` (its place in API_TOKENS) or `jwt:<sub>`, never the secret itself. */
  subject: string;
  scopes: ReadonlySet<Scope>;
}

/**
 * Checks one bearer credential: a Principal when valid, undefined when not. Throws a
 * ProblemError when it cannot tell (the issuer's keys are unreachable).
 */
export type Verifier = (
  credential: string,
) => Principal | undefined | Promise<Principal | undefined>;

import type { JWTPayload } from 'jose';
import type { JwtSettings, Scope } from '../../../config/index.ts';
import { ProblemError } from '../../problems.ts';
import type { Verifier } from './principal.ts';

/** Asymmetric only: a JWKS publishes public keys, so an HMAC or `none` token is always forged. */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
];
/** The scope values this service understands, in `scope` (RFC 8693) or `scp` (Okta, Entra). */
const SCOPE_VALUES: Record<string, Scope[]> = {
  'user:read': ['read'],
  'user:write': ['read', 'write'],
};

function scopesOf(payload: JWTPayload): Set<Scope> {
  const raw = payload.scope ?? payload.scp;
  const values = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(' ') : [];
  return new Set(values.flatMap((v) => SCOPE_VALUES[String(v)] ?? []));
}

/**
 * Who the token speaks for, which also scopes its `Idempotency-Key`s: `sub`, or for a token
 * issued to a client itself (OAuth client credentials) the client, from `azp` (OpenID Connect)
 * or `client_id` (RFC 9068). A token naming none is refused: every such token would otherwise
 * share one scope, and one client's retry could replay another client's user.
 */
function subjectOf(payload: JWTPayload): string {
  const named = (claim: unknown) => typeof claim === 'string' && claim.length > 0;
  if (named(payload.sub)) return `jwt:${payload.sub}`;
  const client = [payload.azp, payload.client_id].find(named);
  if (client !== undefined) return `jwt-client:${String(client)}`;
  throw new ProblemError(
    'UNAUTHENTICATED',
    'The token names no subject: it needs `sub`, or `azp` or `client_id` for a client’s own token.',
  );
}

type Jose = typeof import('jose');

/** An error that says nothing about the token, only that the keys could not be had. */
function keysUnavailable({ errors }: Jose, error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    error.code === 'ERR_JOSE_GENERIC'
  );
}

/**
 * JWTs signed by a key in the issuer's JWKS, with `iss`, `aud` and `exp` checked by jose. The key
 * set is cached and refetched when a token names an unknown `kid` (at most every 30 s).
 */
export function jwtVerifier(settings: JwtSettings): Verifier {
  // jose is loaded only where JWTs are configured: it costs every other start ~20 ms.
  const ready = import('jose').then((jose) => ({
    jose,
    keys: jose.createRemoteJWKSet(new URL(settings.jwksUrl), {
      timeoutDuration: 2000,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
    }),
  }));
  return async (credential) => {
    const { jose, keys } = await ready;
    try {
      const { payload } = await jose.jwtVerify(credential, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp'],
        clockTolerance: 30,
      });
      return { subject: subjectOf(payload), scopes: scopesOf(payload) };
    } catch (error) {
      if (error instanceof ProblemError) throw error;
      if (keysUnavailable(jose, error)) {
        throw new ProblemError('AUTH_UNAVAILABLE', 'The token issuer’s keys cannot be fetched.');
      }
      return undefined;
    }
  };
}

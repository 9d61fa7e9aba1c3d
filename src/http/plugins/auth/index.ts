import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ApiToken, JwtSettings, Scope } from '../../../config/index.ts';
import { ProblemError } from '../../problems.ts';
import { jwtVerifier } from './jwt.ts';
import type { Principal, Verifier } from './principal.ts';
import { tokenVerifier } from './tokens.ts';
import { SAFE_METHODS } from '../../safe-methods.ts';

export type { Principal } from './principal.ts';

export interface AccessSettings {
  apiTokens: readonly ApiToken[];
  jwt: JwtSettings | undefined;
  readsRequireAuth: boolean;
  metricsRequireAuth: boolean;
}

export interface AccessControl {
  /** False when nothing is configured: the tutorial's open API. */
  enabled: boolean;
  /** For the user routes: reads need `read` when READS_REQUIRE_AUTH, writes always `write`. */
  users: onRequestHookHandler | undefined;
  /** For /metrics when METRICS_REQUIRE_AUTH. */
  metrics: onRequestHookHandler | undefined;
}

const REALM = 'realm="12factor-app"';
// RFC 6750 §2.1: the scheme is case-insensitive; the token is b64token characters only.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

function refuse(reply: FastifyReply, challenge: string, code: 'UNAUTHENTICATED' | 'FORBIDDEN') {
  reply.header('www-authenticate', `Bearer ${REALM}${challenge}`);
  return new ProblemError(
    code,
    code === 'FORBIDDEN'
      ? 'This token may not do that; it lacks the scope named in WWW-Authenticate.'
      : challenge
        ? 'The bearer token is not valid.'
        : 'Send `Authorization: Bearer <token>`.',
  );
}

/**
 * Access control (docs/security.md): static tokens (API_TOKENS) and/or JWTs verified against a JWKS. One
 * hook per protected scope; health, readiness, version and the docs are never behind it, so
 * orchestrators and people can always see the service. Tokens in URLs are not accepted (they
 * would end up in access logs and browser history).
 */
export function accessControl(settings: AccessSettings): AccessControl {
  const verifiers: Verifier[] = [];
  if (settings.apiTokens.length > 0) verifiers.push(tokenVerifier(settings.apiTokens));
  if (settings.jwt) verifiers.push(jwtVerifier(settings.jwt));
  if (verifiers.length === 0) return { enabled: false, users: undefined, metrics: undefined };

  const authenticate = async (request: FastifyRequest, reply: FastifyReply, needed: Scope) => {
    const header = request.headers.authorization;
    if (header === undefined) throw refuse(reply, '', 'UNAUTHENTICATED');
    const credential = BEARER.exec(header)?.[1];
    let principal: Principal | undefined;
    try {
      for (const verify of credential ? verifiers : []) {
        principal = await verify(credential!);
        if (principal) break;
      }
    } catch (error) {
      // A verifier's own refusal (e.g. a JWT naming no subject) carries its reason.
      if (error instanceof ProblemError && error.code === 'UNAUTHENTICATED') {
        reply.header('www-authenticate', `Bearer ${REALM}, error="invalid_token"`);
      }
      throw error;
    }
    if (!principal) throw refuse(reply, ', error="invalid_token"', 'UNAUTHENTICATED');
    request.principal = principal;
    if (!principal.scopes.has(needed)) {
      throw refuse(reply, `, error="insufficient_scope", scope="user:${needed}"`, 'FORBIDDEN');
    }
  };

  return {
    enabled: true,
    users: async (request, reply) => {
      const safe = SAFE_METHODS.has(request.method);
      if (safe && !settings.readsRequireAuth) return;
      await authenticate(request, reply, safe ? 'read' : 'write');
    },
    metrics: settings.metricsRequireAuth
      ? async (request, reply) => authenticate(request, reply, 'read')
      : undefined,
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { UserInput } from '../users/user.ts';
import type { CreateKey } from '../users/user-service.ts';

/**
 * The `Idempotency-Key` of a create (docs/reliability.md, "Retried creates"; the header's syntax is checked by the route's
 * schema), scoped by the caller so two clients choosing the same key never see each other's user.
 * Anonymous callers (no access control configured) share one scope, as they share everything.
 * The fingerprint covers what the create does: the route and the merged, normalized attributes,
 * wherever they came from (query string, JSON or form), so only a real change of request differs.
 */
export function createKeyOf(request: FastifyRequest, input: UserInput): CreateKey | undefined {
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string') return undefined;
  const parts = [request.method, request.routeOptions.url, input.name, input.email ?? null];
  return {
    scope: request.principal?.subject ?? '',
    key,
    fingerprint: createHash('sha256').update(JSON.stringify(parts)).digest('base64url'),
  };
}

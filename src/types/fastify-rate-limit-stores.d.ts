// @fastify/rate-limit ships its two stores as plain CommonJS without declarations; they follow
// the store contract its own types declare, plus the non-mutating `read` its README documents.
declare module '@fastify/rate-limit/store/*.js' {
  import type { FastifyRateLimitStore } from '@fastify/rate-limit';
  const Store: new (
    continueExceeding: boolean,
    exponentialBackoff: boolean,
    cacheOrRedis?: unknown,
    key?: string,
  ) => FastifyRateLimitStore & { read: FastifyRateLimitStore['incr'] };
  export = Store;
}

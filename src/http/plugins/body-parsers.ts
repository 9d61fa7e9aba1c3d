import type { FastifyInstance, FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';

type Done = (error: Error | null, body?: unknown) => void;

/**
 * Bodies are JSON or form-urlencoded, nothing else (anything else is a 415, never parsed as a
 * string). Two things differ from Fastify's defaults:
 *
 * - An empty body is no body, whatever its Content-Type says: axios, Angular and many curl
 *   habits send `Content-Type: application/json` on every call, and Sails then reads the query
 *   string. Fastify's JSON parser would refuse the empty string as malformed JSON.
 * - Every structured-syntax `+json` media type (RFC 6839 §3.1: `application/vnd.api+json`,
 *   `application/merge-patch+json` …) is JSON.
 */
export async function bodyParsers(app: FastifyInstance): Promise<void> {
  app.removeContentTypeParser(['text/plain', 'application/json']);
  // Fastify's own parser keeps its prototype-poisoning guard (secure-json-parse); it is the
  // callback form (the promise form is only in its type).
  const json = app.getDefaultJsonParser('error', 'error') as (
    request: FastifyRequest,
    body: string,
    done: Done,
  ) => void;
  const parseJson = (request: FastifyRequest, body: string, done: Done): void =>
    body.trim() === '' ? done(null, undefined) : json(request, body, done);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  // Fastify tests the media type with its parameters; anchored at both ends of the type so a
  // "+json" met only in a parameter is not taken for JSON.
  app.addContentTypeParser(
    /^application\/[\w.!#$&^-]+\+json(?:;|$)/i,
    { parseAs: 'string' },
    parseJson,
  );
  await app.register(formbody);
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { normalizeInput, pickChanges, type UserInput } from '../../users/user.ts';
import { parseListQuery } from '../../users/query.ts';
import { preconditionFailed, validationFailed } from '../../users/errors.ts';
import type { UserService } from '../../users/user-service.ts';
import { etagOf, ifMatchHolds, ifNoneMatchHolds } from '../etag.ts';
import { createKeyOf } from '../idempotency.ts';
import { listLinks } from '../links.ts';
import { checkAttributeCount } from '../body-bounds.ts';
import {
  CreateBodySchema,
  CreateHeadersSchema,
  IdParamsSchema,
  ListQuerySchema,
  UpdateBodySchema,
  errorResponses,
  userRef,
} from '../schemas.ts';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** The content type Fastify gives a body it serialized itself. */
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Parameters may come from the query string (as in the tutorial), a JSON body or a form body;
 * they are merged before validation, the body winning on a clash, so one schema checks them all.
 */
async function mergeParameters(request: FastifyRequest): Promise<void> {
  const body: unknown = request.body;
  if (Array.isArray(body)) {
    throw validationFailed([
      { field: 'body', message: 'must be one object; bulk loads are the admin import command' },
    ]);
  }
  if (body !== undefined && (typeof body !== 'object' || body === null)) {
    throw validationFailed([{ field: 'body', message: 'must be an object' }]);
  }
  const query = request.query as Record<string, unknown>;
  checkAttributeCount(query, 'query');
  checkAttributeCount(body as object | undefined, 'body');
  request.body = normalizeInput({ ...query, ...(body as Record<string, unknown> | undefined) });
}

/** Maps If-Match to the `updatedAt` the write must still see (412 if it no longer does). */
async function expectedVersion(service: UserService, request: IdRequest) {
  const header = request.headers['if-match'];
  if (header === undefined) return undefined;
  const current = await service.get(request.params.id);
  if (!ifMatchHolds(header, etagOf(current))) throw preconditionFailed();
  return current.updatedAt;
}

function sendRecord(reply: FastifyReply, user: { id: string; updatedAt: string }) {
  reply.header('etag', etagOf(user));
  return user;
}

export function userRoutes(app: FastifyInstance, service: UserService): void {
  const tags = ['user'];

  app.get('/user', {
    schema: {
      tags,
      summary: 'List users',
      querystring: ListQuerySchema,
      response: { 200: { type: 'array', items: userRef }, ...errorResponses(400, 503) },
    },
    handler: async (request, reply) => {
      const query = parseListQuery(request.query as Record<string, string>);
      const page = await service.list(query);
      reply.header('x-total-count', page.total);
      const link = listLinks(request.url, query, page.total);
      if (link) reply.header('link', link);
      // Printed by the database as the serializer would print page.users: sent as it is.
      if (page.json !== undefined) return reply.type(JSON_TYPE).send(page.json);
      return page.users;
    },
  });

  app.get('/user/:id', {
    schema: {
      tags,
      summary: 'Read one user',
      params: IdParamsSchema,
      response: { 200: userRef, 304: { type: 'null' }, ...errorResponses(404, 503) },
    },
    handler: async (request: IdRequest, reply) => {
      const user = await service.get(request.params.id);
      const etag = etagOf(user);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && !ifNoneMatchHolds(ifNoneMatch, etag)) {
        return reply.code(304).header('etag', etag).send();
      }
      reply.header('etag', etag);
      return user;
    },
  });

  app.post('/user', {
    schema: {
      tags,
      summary: 'Create a user',
      description: 'Attributes from the query string, a JSON body or a form body.',
      body: CreateBodySchema,
      headers: CreateHeadersSchema,
      response: { 201: userRef, ...errorResponses(400, 409, 413, 415, 422, 503) },
    },
    preValidation: mergeParameters,
    handler: async (request, reply) => {
      const input = pickChanges(request.body as Record<string, unknown>) as UserInput;
      const key = createKeyOf(request, input);
      const { user, replayed } = key
        ? await service.createOnce(input, key)
        : { user: await service.create(input), replayed: false };
      if (replayed) reply.header('idempotent-replayed', 'true');
      reply.code(201).header('location', `/user/${user.id}`);
      return sendRecord(reply, user);
    },
  });

  const update = {
    schema: {
      tags,
      summary: 'Update the attributes given',
      params: IdParamsSchema,
      body: UpdateBodySchema,
      response: { 200: userRef, ...errorResponses(400, 404, 409, 412, 413, 415, 503) },
    },
    preValidation: mergeParameters,
    handler: async (request: IdRequest, reply: FastifyReply) => {
      const changes = pickChanges(request.body as Record<string, unknown>);
      if (Object.keys(changes).length === 0) {
        throw validationFailed([{ field: 'body', message: 'names no attribute to change' }]);
      }
      const ifUpdatedAt = await expectedVersion(service, request);
      const user = await service.update(request.params.id, changes, { ifUpdatedAt });
      return sendRecord(reply, user);
    },
  };
  app.put('/user/:id', update);
  app.patch('/user/:id', update);
  // Sails' own REST update route, for HTML forms and clients that cannot send PUT.
  app.post('/user/:id', update);

  app.delete('/user/:id', {
    schema: {
      tags,
      summary: 'Delete a user',
      description: 'Answers with the record as it was, as Sails does.',
      params: IdParamsSchema,
      response: { 200: userRef, ...errorResponses(404, 412, 503) },
    },
    handler: async (request: IdRequest) => {
      const ifUpdatedAt = await expectedVersion(service, request);
      return service.remove(request.params.id, { ifUpdatedAt });
    },
  });
}

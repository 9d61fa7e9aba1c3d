import type { Server } from 'node:http';
import Fastify, {
  type FastifyHttpOptions,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { lazyValidators, sharedSerializers } from '../serializers.ts';

/** Names each request handed to the instance, so that an error it meets is found again. */
const FORWARDED = 'x-on-demand-request';

/** Headers of the instance's answer that belong to its own (injected) connection. */
const OWN_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'date',
]);

/**
 * A part of the app that no API answer needs (the docs, the web page) and whose packages cost
 * every start their loading: a Fastify instance of its own, built by `setup` on the first
 * request for it, that never listens. The app routes those requests to `forward`, which hands
 * them over with `inject` and sends the answer as its own, so the app's hooks (access line,
 * metrics, security headers, rate limit) run as for any route; a 404 of the instance is the
 * app's not-found problem and an error it meets is thrown again here, for the app's error
 * handler. A failed build (a missing file) is tried again by the next request, not kept.
 */
export function onDemand(setup: (instance: FastifyInstance) => Promise<void>): {
  instance: () => Promise<FastifyInstance>;
  forward: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
} {
  const failures = new Map<string, unknown>();
  let forwarded = 0;
  let built: Promise<FastifyInstance> | undefined;
  const instance = () => {
    if (!built) {
      built = build(setup, failures);
      built.catch(() => (built = undefined));
    }
    return built;
  };
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const id = String(++forwarded);
    const answer = await (
      await instance()
    ).inject({
      // HEAD asks for the whole answer: the app's own HEAD handling measures it and drops it.
      method: 'GET',
      url: request.url,
      headers: { ...request.headers, [FORWARDED]: id },
      remoteAddress: request.socket.remoteAddress ?? '127.0.0.1',
    });
    const failure = failures.get(id);
    if (failures.delete(id)) throw failure;
    if (answer.statusCode === 404) {
      reply.callNotFound();
      return reply;
    }
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !OWN_HEADERS.has(name)) reply.header(name, value);
    }
    return reply.code(answer.statusCode).send(answer.rawPayload);
  };
  return { instance, forward };
}

async function build(
  setup: (instance: FastifyInstance) => Promise<void>,
  failures: Map<string, unknown>,
): Promise<FastifyInstance> {
  const options: FastifyHttpOptions<Server> = {
    logger: false,
    // Routed as the app routes (app.ts), so a path finds the same file or none.
    routerOptions: { ignoreTrailingSlash: true },
    // Schemas registered here (the docs' copies of the routes) are never used to validate:
    // with the app's lazy compilers, none is compiled.
    schemaController: {
      compilersFactory: { buildValidator: lazyValidators(), buildSerializer: sharedSerializers() },
    },
  };
  const instance = Fastify(options);
  instance.setErrorHandler((error, request, reply) => {
    failures.set(String(request.headers[FORWARDED]), error);
    return reply.code(500).send();
  });
  await setup(instance);
  await instance.ready();
  return instance;
}

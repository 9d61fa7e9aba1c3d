import Fastify, { LogController, type FastifyInstance, type FastifyHttpOptions } from 'fastify';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger.ts';
import { deferredChildLogger } from '../log/deferred-child.ts';
import type { UserService } from '../users/user-service.ts';
import type { UserStore } from '../users/user-store.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { TrustProxy } from '../config/index.ts';
import { ProblemError } from './problems.ts';
import { requestContext, requestIdOf } from './plugins/request-context.ts';
import { metrics } from './plugins/metrics.ts';
import { tracing } from './plugins/tracing.ts';
import { openapi } from './plugins/openapi.ts';
import { page } from './plugins/page.ts';
import { accessControl, type AccessSettings } from './plugins/auth/index.ts';
import { limits, type LimitSettings } from './plugins/limits.ts';
import { browserPolicy } from './plugins/browser-policy.ts';
import { requestDeadline } from './plugins/request-deadline.ts';
import { responseDeadline } from './plugins/response-deadline.ts';
import { connectionLimits } from './plugins/connections.ts';
import { bodyScan } from './plugins/body-scan.ts';
import { bodyParsers } from './plugins/body-parsers.ts';
import { allowedMethods } from './plugins/allow.ts';
import { ProblemSchema, UserSchema } from './schemas.ts';
import {
  clientErrorHandler,
  errorHandler,
  frameworkErrors,
  notFoundHandler,
} from './error-handler.ts';
import { userRoutes } from './routes/users.ts';
import { lazyValidators, sharedSerializers, type SchemaCompilers } from './serializers.ts';
import { operationRoutes, type Release } from './routes/operations.ts';

export interface AppDeps {
  service: UserService;
  store: UserStore;
  lifecycle: Lifecycle;
  logger: Logger;
  registry: Registry;
  release: Release;
  http: {
    bodyLimitBytes: number;
    requestTimeoutMs: number;
    /** Longest time to answer once received: then a 503 RESPONSE_TIMEOUT. */
    responseTimeoutMs: number;
    keepAliveTimeoutMs: number;
    trustProxy: TrustProxy;
    /** Open connections kept (below the open-files limit) and per client address (0: no cap). */
    maxConnections: number;
    maxConnectionsPerClient: number;
    corsOrigins: readonly string[];
  };
  access: AccessSettings;
  limits: LimitSettings;
  /** A span per request (OpenTelemetry); off unless the process's tracing is on. */
  traced?: boolean;
  /** How route schemas become validators and serializers: by default, from the build's code. */
  schemaCompilers?: SchemaCompilers;
}

/**
 * The web app as a Fastify instance that never listens: tests drive it with inject(), the web
 * process binds it to PORT and owns signals.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const options: FastifyHttpOptions<Server> = {
    loggerInstance: deps.logger,
    // Our own hook writes the one line per request; Fastify's pair of lines is off.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
    childLoggerFactory: deferredChildLogger,
    genReqId: requestIdOf,
    requestIdHeader: false,
    bodyLimit: deps.http.bodyLimitBytes,
    requestTimeout: deps.http.requestTimeoutMs,
    // Node checks for overdue requests every 30 s by default, so a slowloris client could hold
    // its socket up to 30 s past REQUEST_TIMEOUT_MS; check every second instead.
    http: { connectionsCheckingInterval: 1000 },
    keepAliveTimeout: deps.http.keepAliveTimeoutMs,
    trustProxy:
      typeof deps.http.trustProxy === 'object' ? [...deps.http.trustProxy] : deps.http.trustProxy,
    // Sails serves every route with or without a trailing slash (`GET /user/`, `/user/<id>/`).
    routerOptions: { ignoreTrailingSlash: true },
    // In-flight requests on kept-alive connections finish normally during shutdown.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        allErrors: true,
        // Checking our own schemas against JSON Schema's meta-schema compiled that meta-schema
        // at every start (~50 ms). The schemas are constant, so the test suite checks them
        // once instead: the OpenAPI document made from them is validated against OpenAPI 3.1.
        validateSchema: false,
      },
    },
    schemaController: {
      compilersFactory: deps.schemaCompilers ?? {
        buildValidator: lazyValidators(),
        buildSerializer: sharedSerializers(),
      },
    },
    clientErrorHandler,
    frameworkErrors,
  };
  const app = Fastify(options);
  // Set before any plugin registers its routes: a plugin's scope keeps the error handler it was
  // registered under, and every error must become a problem document (the docs' file routes too).
  app.setErrorHandler(errorHandler);

  app.addSchema(UserSchema);
  app.addSchema(ProblemSchema);
  await bodyParsers(app);
  const allow = allowedMethods(app, { beforeCors: deps.http.corsOrigins.length > 0 });
  // First, so its onResponse ends the span before the access line is written, and its onRoute
  // sees every route.
  if (deps.traced) tracing(app);
  const connections = connectionLimits(app, deps.http);
  requestContext(app);
  requestDeadline(app, { timeoutMs: deps.http.requestTimeoutMs });
  // A slow or black-holed store answers 503 RESPONSE_TIMEOUT, never a socket left hanging.
  responseDeadline(app, { timeoutMs: deps.http.responseTimeoutMs });
  bodyScan(app);
  // Before any route: the rate limiter hooks only the routes registered after it.
  await limits(app, deps.limits, deps.registry);
  await browserPolicy(app, deps.http);
  const access = accessControl(deps.access);
  await openapi(app, deps.release, {
    enabled: access.enabled,
    readsRequireAuth: deps.access.readsRequireAuth,
  });
  metrics(app, deps.registry, { guard: access.metrics, inFlight: connections.inFlight });
  // While draining, each response closes its connection, so clients move to another instance
  // instead of reusing a socket the server is about to close. Added only then, so requests pay
  // for it only then.
  deps.lifecycle.onDrain(() =>
    app.server.prependListener('request', (_request, response) =>
      response.setHeader('connection', 'close'),
    ),
  );

  // Unknown routes count toward the rate limit too: a scan of random paths is traffic like any.
  const limitUnknown = app.hasDecorator('rateLimit') ? { preHandler: app.rateLimit() } : {};
  app.setNotFoundHandler(limitUnknown, notFoundHandler);

  operationRoutes(app, deps);
  await page(app);
  await app.register(async (scope) => {
    if (access.users) scope.addHook('onRequest', access.users);
    // Until the store is reachable and its schema current, user routes answer 503, not a hang.
    scope.addHook('onRequest', (_request, _reply, done) => {
      if (deps.lifecycle.phase !== 'starting') return done();
      done(new ProblemError('STARTING', 'The service is starting; the store is not ready yet.'));
    });
    userRoutes(scope, deps.service);
  });
  allow.serve();
  return app;
}

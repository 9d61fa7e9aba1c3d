import { hash } from 'node:crypto';
import { createRequire } from 'node:module';
import type ValidatorSelector from '@fastify/ajv-compiler';
import type { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

/**
 * The compilers, loaded only when a schema has no compiled code: imported, they and what they
 * load (Ajv, its formats, fast-json-stringify's builder, fast-uri: a third of the web chunk,
 * ~250 KB) were evaluated at every start, though the build's code leaves them nothing to compile. Kept out of
 * the bundle (vite.server.config.ts), they load from node_modules.
 */
const load = createRequire(import.meta.url);
const ajvCompiler = () => load('@fastify/ajv-compiler') as typeof ValidatorSelector;
const fjsCompiler = () =>
  (
    load('@fastify/fast-json-stringify-compiler') as {
      SerializerSelector: typeof SerializerSelector;
    }
  ).SerializerSelector;

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;
export type SchemaCompilers = { buildValidator: BuildValidator; buildSerializer: BuildSerializer };
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type CompileValidator = ReturnType<ReturnType<typeof ValidatorSelector>>;
type Validate = ((data: unknown, context?: unknown) => unknown) & {
  errors?: unknown;
  schemaEnv?: unknown;
};
type Serialize = (data: unknown) => string;

/**
 * The routes' validators and serializers as code, compiled from their schemas by `npm run build`
 * (src/http/schema-code.ts) into `compiled-schemas.cjs` beside the web process's chunks. Each
 * table belongs to one set of shared schemas and compiler options (its fingerprint) and is keyed
 * by the schema it was compiled from, so code is only ever used for the very schema it came from;
 * a schema without code is compiled when first used, as before.
 */
export interface CompiledSchemas {
  validators: Record<string, Record<string, () => Validate>>;
  serializers: Record<string, Record<string, () => Serialize>>;
}

/** Which table serves a compiler built with these shared schemas and options. */
export const fingerprintOf = (externalSchemas: unknown, options: unknown): string =>
  hash('sha256', JSON.stringify([externalSchemas, options]), 'base64url');
/** The key of one route part's validator: the part and its schema. */
export const validatorKey = (route: { schema?: unknown; httpPart?: string | undefined }): string =>
  `${route.httpPart}:${JSON.stringify(route.schema)}`;
/** The key of one response's serializer: its schema. */
export const serializerKey = (route: { schema?: unknown }): string => JSON.stringify(route.schema);

/**
 * The build's compiled code, if there is any: running from the sources (tests, `npm run dev`)
 * there is none, and every schema is compiled when first used.
 */
export function compiledSchemas(): CompiledSchemas | undefined {
  try {
    return load('./compiled-schemas.cjs') as CompiledSchemas;
  } catch (error) {
    // Only the table itself may be missing; anything else wrong with it is a broken build.
    const missing = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    if (missing && (error as Error).message.includes("'./compiled-schemas.cjs'")) return undefined;
    throw error;
  }
}

/**
 * Fastify compiles a response serializer for every route and status code, yet most of ours
 * share one schema (every error status is the same Problem document). Each distinct schema is
 * made once per context instead of once per route and status, which saves ~20 compilations of
 * the same code at every start. And each is made when first used, not at start: the first
 * answer waits only for its own serializer, never for the ~50 of routes it does not take. Made
 * from the build's compiled code where it has the schema's, so no request waits for
 * fast-json-stringify to write and compile it (the first answer of a process did, ~7 ms).
 */
export function sharedSerializers(compiled = compiledSchemas()): BuildSerializer {
  return (externalSchemas, serializerOptions) => {
    let code: Record<string, () => Serialize> | undefined;
    let compile: ReturnType<ReturnType<typeof SerializerSelector>> | undefined;
    const made = new Map<string, Serialize>();
    return (route) => {
      let serialize: Serialize | undefined;
      return (data: unknown) => {
        if (!serialize) {
          const key = serializerKey(route);
          serialize = made.get(key);
          if (!serialize) {
            // Looked up once per context: a table without this fingerprint is an empty one.
            code ??= compiled?.serializers[fingerprintOf(externalSchemas, serializerOptions)] ?? {};
            const restore = code?.[key];
            if (restore) serialize = restore();
            else {
              compile ??= fjsCompiler()()(externalSchemas, serializerOptions);
              serialize = compile(route) as Serialize;
            }
            made.set(key, serialize);
          }
        }
        return serialize(data);
      };
    };
  };
}

/**
 * Fastify's own validators (Ajv through @fastify/ajv-compiler, with the app's Ajv options),
 * each made when its route first validates a request rather than at start, where building
 * Ajv and compiling every route's schemas delayed the first answer. The schemas are constants
 * (checked once by the test suite, see `validateSchema` in app.ts), so a route's validator
 * compiles the same on its first request as it would have at start. Where the build compiled
 * the schema's code (Ajv's standalone code, the same function Ajv would compile here), that
 * code is used and Ajv is never built: building it and compiling the first schema cost the
 * first request ~8 ms.
 * Fastify reads a validator's `errors` after a failed call and passes the parent of the data
 * (so Ajv may replace it) when `schemaEnv` is set, as Ajv's own functions have it.
 */
export function lazyValidators(compiled = compiledSchemas()): BuildValidator {
  // One pool per app, as Fastify's default has: contexts with the same schemas share an Ajv.
  let pool: ReturnType<typeof ValidatorSelector> | undefined;
  return (externalSchemas, options) => {
    let code: Record<string, () => Validate> | undefined;
    let compile: CompileValidator | undefined;
    return (route) => {
      let validate: Validate | undefined;
      const lazy: Validate = (data, context) => {
        if (!validate) {
          code ??= compiled?.validators[fingerprintOf(externalSchemas, options)] ?? {};
          const restore = code?.[validatorKey(route)];
          if (restore) validate = restore();
          else {
            pool ??= ajvCompiler()();
            compile ??= pool(externalSchemas, options);
            validate = compile(route) as Validate;
          }
        }
        const result = validate(data, context);
        lazy.errors = validate.errors;
        return result;
      };
      lazy.schemaEnv = true;
      return lazy as unknown as ReturnType<CompileValidator>;
    };
  };
}

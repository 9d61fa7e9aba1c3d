import ValidatorSelector from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type CompileValidator = ReturnType<ReturnType<typeof ValidatorSelector>>;
type Validate = ((data: unknown, context?: unknown) => unknown) & {
  errors?: unknown;
  schemaEnv?: unknown;
};

/**
 * Fastify compiles a response serializer for every route and status code, yet most of ours
 * share one schema (every error status is the same Problem document). Compiling each distinct
 * schema once per context instead of once per route and status saves ~20 compilations of the
 * same code at every start. And each is compiled when first used, not at start: the first
 * answer waits only for its own serializer, never for the ~50 of routes it does not take.
 */
export const sharedSerializers: BuildSerializer = (externalSchemas, serializerOptions) => {
  let compile: ReturnType<ReturnType<typeof SerializerSelector>> | undefined;
  const compiled = new Map<string, (data: unknown) => string>();
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data: unknown) => {
      if (!serialize) {
        const key = JSON.stringify(route.schema);
        serialize = compiled.get(key);
        if (!serialize) {
          compile ??= SerializerSelector()(externalSchemas, serializerOptions);
          serialize = compile(route) as (data: unknown) => string;
          compiled.set(key, serialize);
        }
      }
      return serialize(data);
    };
  };
};

/**
 * Fastify's own validators (Ajv through @fastify/ajv-compiler, with the app's Ajv options),
 * each compiled when its route first validates a request rather than at start, where building
 * Ajv and compiling every route's schemas delayed the first answer. The schemas are constants
 * (checked once by the test suite, see `validateSchema` in app.ts), so a route's validator
 * compiles the same on its first request as it would have at start.
 * Fastify reads a validator's `errors` after a failed call and passes the parent of the data
 * (so Ajv may replace it) when `schemaEnv` is set, as Ajv's own functions have it.
 */
export function lazyValidators(): BuildValidator {
  // One pool per app, as Fastify's default has: contexts with the same schemas share an Ajv.
  let pool: ReturnType<typeof ValidatorSelector> | undefined;
  return (externalSchemas, options) => {
    let compile: CompileValidator | undefined;
    return (route) => {
      let validate: Validate | undefined;
      const lazy: Validate = (data, context) => {
        if (!validate) {
          pool ??= ValidatorSelector();
          compile ??= pool(externalSchemas, options);
          validate = compile(route) as Validate;
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

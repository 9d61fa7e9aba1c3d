/**
 * `npm run build`'s last step: every route schema's validator and serializer as code, written
 * to the file the web process loads them from (`compiled-schemas.cjs` beside its chunks, see
 * `compiledSchemas` in serializers.ts). Ajv and fast-json-stringify write a function's source
 * anyway before compiling it; here they write it once, at build time ("standalone" mode, as
 * Fastify documents for faster starts), so no request waits for them. Run as
 * `node src/http/schema-code.ts <file>`.
 *
 * The app is built as the web process builds it, on an in-memory SQLite store, with compilers
 * that record each schema Fastify hands them; the code of each is keyed by the fingerprint of the
 * shared schemas and options it was compiled with, and by the schema itself. A schema the app
 * only has under other settings is simply compiled when first used.
 */
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import ValidatorSelector from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import standalone from 'ajv/dist/standalone/index.js';
import type { Ajv } from 'ajv';
import { Registry } from 'prom-client';
import { createLogger } from '../log/logger.ts';
import { createStore } from '../store/index.ts';
import { UserService } from '../users/user-service.ts';
import { buildApp } from './app.ts';
import { Lifecycle } from './lifecycle.ts';
import { fingerprintOf, serializerKey, validatorKey, type SchemaCompilers } from './serializers.ts';

/** Source text by fingerprint, then by key. */
type Sources = Map<string, Map<string, string>>;

function sources(all: Sources, fingerprint: string): Map<string, string> {
  let table = all.get(fingerprint);
  if (!table) all.set(fingerprint, (table = new Map()));
  return table;
}

/** Compilers that compile as the app's do, keeping each function's source. */
function recordingCompilers(validators: Sources, serializers: Sources): SchemaCompilers {
  return {
    buildValidator: (externalSchemas, options) => {
      const fingerprint = fingerprintOf(externalSchemas, options);
      const customOptions = { ...options?.customOptions, code: { source: true } };
      const compile = ValidatorSelector()(externalSchemas, { ...options, customOptions } as never);
      // The compiler keeps its Ajv under this symbol when asked for source code.
      const reference = Symbol.for('fastify.ajv-compiler.reference');
      const { ajv } = (compile as unknown as Record<symbol, { ajv: Ajv }>)[reference]!;
      return (route) => {
        const validate = compile(route);
        sources(validators, fingerprint).set(
          validatorKey(route),
          standalone.default(ajv, validate as never),
        );
        return validate;
      };
    },
    buildSerializer: (externalSchemas, serializerOptions) => {
      const fingerprint = fingerprintOf(externalSchemas, serializerOptions);
      const options = { ...serializerOptions, mode: 'standalone' as const };
      const compile = SerializerSelector()(externalSchemas, options);
      return (route) => {
        const key = serializerKey(route);
        if (!sources(serializers, fingerprint).has(key))
          sources(serializers, fingerprint).set(key, compile(route) as unknown as string);
        return JSON.stringify;
      };
    },
  };
}

/** Each module's source as a function making its exports, `require`d where this file is. */
function table(sources: Sources): string {
  const entries = [...sources].map(([fingerprint, codes]) => {
    const made = [...codes].map(
      ([key, code]) =>
        `    ${JSON.stringify(key)}: () => {\n      const module = { exports: {} };\n` +
        `      const exports = module.exports;\n${code}\n      return module.exports;\n    }`,
    );
    return `  ${JSON.stringify(fingerprint)}: {\n${made.join(',\n')}\n  }`;
  });
  return `{\n${entries.join(',\n')}\n}`;
}

/** The module text: the validators and serializers of every route schema the app has. */
export async function compiledSchemasModule(): Promise<string> {
  const validators: Sources = new Map();
  const serializers: Sources = new Map();
  const store = await createStore({
    url: 'sqlite::memory:',
    poolMax: 1,
    connectTimeoutMs: 2000,
    statementTimeoutMs: 5000,
  });
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const app = await buildApp({
    service: new UserService({ store }),
    store,
    lifecycle: new Lifecycle(),
    logger: createLogger({ level: 'silent', pretty: false, destination: discard }),
    registry: new Registry(),
    release: { name: '12factor-app', version: 'build', commit: undefined, buildTime: undefined },
    http: {
      bodyLimitBytes: 1_048_576,
      requestTimeoutMs: 30_000,
      responseTimeoutMs: 15_000,
      keepAliveTimeoutMs: 5_000,
      trustProxy: false,
      maxConnections: 1000,
      maxConnectionsPerClient: 0,
      corsOrigins: [],
    },
    access: { apiTokens: [], jwt: undefined, readsRequireAuth: false, metricsRequireAuth: false },
    limits: { rateLimit: { max: 0, windowMs: 60_000 }, maxEventLoopDelayMs: 0 },
    schemaCompilers: recordingCompilers(validators, serializers),
  });
  try {
    await app.ready();
  } finally {
    await app.close();
    await store.close();
  }
  return (
    `'use strict';\n// Written by \`npm run build\` (src/http/schema-code.ts): the routes' validators ` +
    `(Ajv's standalone code) and serializers\n// (fast-json-stringify's), by the fingerprint of ` +
    `their shared schemas and options, then by schema.\n` +
    `exports.validators = ${table(validators)};\nexports.serializers = ${table(serializers)};\n`
  );
}

if (import.meta.main) {
  const [file] = process.argv.slice(2);
  if (!file) throw new Error('usage: node src/http/schema-code.ts <file>');
  writeFileSync(file, await compiledSchemasModule());
}

import { SpanKind, SpanStatusCode, trace, context } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
} from '@opentelemetry/semantic-conventions';
import { tracer } from './context.ts';

type Call = <T>(operation: string, call: () => Promise<T>) => Promise<T>;

// db.system.name's well-known values: https://opentelemetry.io/docs/specs/semconv/database/
const SYSTEMS: Record<string, string> = {
  sqlite: 'sqlite',
  postgres: 'postgresql',
  mongodb: 'mongodb',
};

/**
 * Wraps each store call in a client span after OpenTelemetry's database conventions: the
 * system, the operation (the port's verb) and the collection, never a query text or a
 * parameter value, which could hold a user's data. Only inside a recorded trace: a call with no
 * active span (a probe, a background job) starts none of its own, nor one in a trace the sampler
 * left unrecorded, whose spans would be made only to be thrown away.
 */
export function tracedCall(storeKind: string, inner: Call): Call {
  const system = SYSTEMS[storeKind] ?? storeKind;
  return <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    if (!trace.getSpan(context.active())?.isRecording()) return inner(operation, call);
    return tracer().startActiveSpan(
      `${operation} users`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_DB_SYSTEM_NAME]: system,
          [ATTR_DB_OPERATION_NAME]: operation,
          [ATTR_DB_COLLECTION_NAME]: 'users',
        },
      },
      (span) =>
        inner(operation, call).then(
          (result) => {
            span.end();
            return result;
          },
          (failure: unknown) => {
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.setAttribute(
              ATTR_ERROR_TYPE,
              // Anything can be thrown, null included: reading it must not throw over it.
              (failure as { code?: string } | null)?.code ??
                (failure as Error | null)?.name ??
                'Error',
            );
            span.end();
            throw failure;
          },
        ),
    );
  };
}

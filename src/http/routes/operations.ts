import type { FastifyInstance } from 'fastify';
import type { UserStore } from '../../users/user-store.ts';
import type { Lifecycle } from '../lifecycle.ts';
import { checkStoreReachable } from '../../doctor/app/checks.ts';
import type { ProblemCode } from '../problems.ts';
import { sendProblem } from '../error-handler.ts';

export interface Release {
  name: string;
  version: string;
  commit: string | undefined;
  buildTime: string | undefined;
}

const PING_TIMEOUT_MS = 2000;

/** Liveness, readiness and the release, as an orchestrator and an operator ask for them. */
export function operationRoutes(
  app: FastifyInstance,
  deps: { store: UserStore; lifecycle: Lifecycle; release: Release },
): void {
  const tags = ['operations'];
  const Status = { type: 'object', properties: { status: { type: 'string' } } } as const;

  // Liveness does no I/O: a slow store must not get a healthy process restarted.
  app.get(
    '/healthz',
    { schema: { tags, summary: 'Liveness', response: { 200: Status } } },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/readyz',
    { schema: { tags, summary: 'Readiness: store reachable and not draining' } },
    async (request, reply) => {
      const phase = deps.lifecycle.phase;
      // The same check `admin doctor app` runs, so the operator and the orchestrator agree.
      const check =
        phase === 'ready'
          ? await checkStoreReachable(deps.store, {
              timeoutMs: PING_TIMEOUT_MS,
              evidence: deps.store.kind,
            })
          : undefined;
      let code: ProblemCode | undefined;
      if (phase === 'draining') code = 'DRAINING';
      else if (phase === 'starting') code = 'STARTING';
      else if (check?.status !== 'pass') code = 'STORE_UNAVAILABLE';
      const checks = check ? [check] : [];
      if (code === undefined) return { status: 'ok', store: deps.store.kind, checks };
      const detail =
        code === 'STORE_UNAVAILABLE' ? 'The store does not answer.' : `The process is ${phase}.`;
      return sendProblem(request, reply, { code, detail }, { checks });
    },
  );

  app.get('/version', { schema: { tags, summary: 'The running release' } }, async () => ({
    ...deps.release,
    node: process.version,
    store: deps.store.kind,
  }));
}

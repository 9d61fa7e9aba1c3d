/** HTTP clients for `npm run attack`: each from its own loopback address, so each has its own
 * rate-limit budget and per-address connection count, as separate machines would. */
import http from 'node:http';

export interface Answer {
  status: number;
  body: string;
  /** Why there is no status: the socket error's code, or `timeout`. */
  failure?: string;
}

/** One request; `status` 0 means the connection failed (`failure` says how). Never throws. */
export function request(options: {
  port: number;
  from: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  agent?: http.Agent | false;
  timeoutMs?: number;
}): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: options.port,
        localAddress: options.from,
        method: options.method,
        path: options.path,
        headers: options.headers,
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 4096) body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ status: 0, body: '', failure: error.code ?? error.message }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ status: 0, body: '', failure: error.code ?? error.message }),
    );
    req.end(options.body);
  });
}

/** Counts of each status (0: no answer), e.g. `{ "400": 12, "429": 3 }`. */
export class Tally {
  readonly counts = new Map<number, number>();
  add(status: number): void {
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
  }
  toString(): string {
    const parts = [...this.counts].sort(([a], [b]) => a - b);
    return parts.map(([s, n]) => `${n}× ${s === 0 ? 'closed' : s}`).join(', ') || 'nothing';
  }
}

/**
 * Runs `ask` in `concurrency` loops until `signal` aborts, `n` counting the requests made; says
 * how many of each status came back.
 */
export async function loop(
  signal: AbortSignal,
  concurrency: number,
  ask: (n: number) => Promise<number>,
): Promise<string> {
  const tally = new Tally();
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!signal.aborted) tally.add(await ask(n++));
    }),
  );
  return tally.toString();
}

export interface VictimFigures {
  requests: number;
  errors: number;
  /** Each kind of error and how many, e.g. `1× 503 OVERLOADED`, `2× ECONNRESET`; or empty. */
  errorKinds: string;
  p50: number;
  p99: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** Where the victim sends, from which address, about which user, how often and how many. */
export interface VictimStart {
  port: number;
  from: string;
  id: string;
  intervalMs: number;
  count: number;
}

/** What an error was: its status and problem code, or how the connection failed. */
function errorKind(answer: Answer): string {
  if (answer.status === 0) return answer.failure ?? 'closed';
  let code: unknown;
  try {
    code = (JSON.parse(answer.body) as { code?: unknown }).code;
  } catch {
    code = undefined;
  }
  return typeof code === 'string' ? `${answer.status} ${code}` : String(answer.status);
}

/**
 * The victim: `count` requests, one every `intervalMs` on a fixed schedule (a late timer does
 * not push the rest back or drop one), alternately GET /user/:id and POST /user, on keep-alive
 * connections from its own address; resolves once every answer is in. A request on a reused
 * connection the server has just closed is retried once on a new one, as HTTP clients do for a
 * stale keep-alive connection; anything else that is not a 2xx is an error.
 */
export async function victim(options: VictimStart): Promise<VictimFigures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const latencies: number[] = [];
  const kinds = new Map<string, number>();
  const first = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < options.count; i++) {
    const wait = first + i * options.intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      (async () => {
        const started = performance.now();
        const ask = (viaAgent: http.Agent | false) =>
          i % 2 === 0
            ? request({ ...options, method: 'GET', path: `/user/${options.id}`, agent: viaAgent })
            : request({
                ...options,
                method: 'POST',
                path: `/user?name=victim-${process.pid}-${Date.now()}-${i}`,
                agent: viaAgent,
              });
        let answer = await ask(agent);
        if (answer.status === 0) answer = await ask(false);
        latencies.push(performance.now() - started);
        if (answer.status < 200 || answer.status > 299) {
          const kind = errorKind(answer);
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        }
      })(),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors: [...kinds.values()].reduce((a, b) => a + b, 0),
    errorKinds: [...kinds].map(([kind, n]) => `${n}× ${kind}`).join(', '),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
  };
}

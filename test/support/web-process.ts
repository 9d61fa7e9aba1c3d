import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningProcess {
  child: ChildProcess;
  /** Every JSON log line so far, in order. */
  lines: Record<string, unknown>[];
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends SIGKILL if still running; for test clean-up only. */
  kill(): void;
  /** Everything written to stderr so far. */
  stderr(): string;
}

/**
 * The environment of a command as a user types it in a shell (npm, sh): their PATH and HOME,
 * nothing else of this test process's, and `extra`.
 */
export function shellEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...extra };
}

/** A web process on a port the kernel picks, reachable on loopback only. */
export const ANY_LOOPBACK_PORT = { PORT: '0', HOST: '127.0.0.1' } as const;

/** Starts a process type of ours (e.g. `src/processes/web.ts`) as its own OS process. */
export function spawnProcess(
  entry: string,
  env: Record<string, string>,
  options: { openFiles?: number } = {},
): RunningProcess {
  // `ulimit -n` applies to the shell, which then becomes the process: a low open-files limit.
  const [command, args] =
    options.openFiles === undefined
      ? [process.execPath, [entry]]
      : [
          '/bin/sh',
          ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, entry],
        ];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      SHUTDOWN_DELAY_MS: '0',
      // Load tests send thousands of requests from one address; the limiter has its own tests.
      RATE_LIMIT_MAX: '0',
      // A busy test machine lags every event loop; load shedding has its own tests, and a 503
      // from it would hide what a process test is about.
      MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      lines.push({ raw: text });
    }
    for (const wake of waiters) wake();
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    // A bound on a wait, not a timing claim: at a load average of 20 on two cores a process's
    // first line has taken more than 15 s, and a test must not fail for that.
    waitForLine(predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(predicate);
          if (found) {
            cleanup();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(
              new Error(
                `process exited before the line; stderr: ${stderr}; stdout: ${JSON.stringify(lines)}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no such line within ${timeoutMs} ms; stderr: ${stderr}; stdout: ${JSON.stringify(lines)}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Starts the web process and resolves with its port once it is ready. */
export async function startWeb(
  env: Record<string, string>,
  options: { openFiles?: number } = {},
): Promise<RunningProcess & { port: number }> {
  const web = spawnProcess(
    'src/processes/web.ts',
    { PORT: '0', HOST: '127.0.0.1', ...env },
    options,
  );
  try {
    const ready = await web.waitForLine((l) => l.msg === 'web ready');
    const port = (ready.address as { port: number }).port;
    return Object.assign(web, { port });
  } catch (error) {
    web.kill();
    throw error;
  }
}

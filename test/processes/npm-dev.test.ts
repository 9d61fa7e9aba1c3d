import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ANY_LOOPBACK_PORT, shellEnv } from '../support/web-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test(
  'npm run dev — when a source file changes after a request, then the server restarts without the load-balancer delay',
  { timeout: 90_000 },
  async (t) => {
    const npm = spawn('npm', ['run', '-s', 'dev'], {
      cwd: ROOT,
      env: shellEnv({
        ...ANY_LOOPBACK_PORT,
        DATABASE_URL: 'sqlite::memory:',
        MAX_EVENT_LOOP_DELAY_MS: '0',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: npm, its shell, the watcher and the server it restarts.
      detached: true,
    });
    const events: { msg?: string; pid?: number; delayMs?: number; address?: { port: number } }[] =
      [];
    const waiters = new Set<() => void>();
    createInterface({ input: npm.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) events.push(JSON.parse(line) as (typeof events)[number]);
      for (const wake of waiters) wake();
    });
    const until = (count: number, msg: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${msg}: ${JSON.stringify(events)}`)),
          60_000,
        );
        const check = () => {
          if (events.filter((e) => e.msg === msg).length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    t.after(() => {
      // The servers by the pids they logged, then the rest of npm's process group.
      for (const pid of [...new Set(events.map((e) => e.pid!)), -npm.pid!])
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      npm.stdout!.destroy();
      npm.stderr!.destroy();
    });
    await until(1, 'web ready');
    const { port } = events.find((e) => e.msg === 'web ready')!.address!;
    // A process that served traffic is the one a load balancer would have to notice leaving.
    assert.equal((await fetch(`http://127.0.0.1:${port}/user`)).status, 200);
    const now = new Date();
    utimesSync(join(ROOT, 'src/processes/web.ts'), now, now);
    await until(2, 'web ready');
    const delays = events.filter((e) => e.msg === 'shutdown delay').map((e) => e.delayMs);
    assert.deepEqual(delays, [0], 'the restart stopped the old server at once');
  },
);

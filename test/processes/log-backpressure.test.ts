import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHUTDOWN_TIMEOUT_MS = 5000;

test("web — when stdout's reader stops reading, then SIGTERM still ends the process, with exit 0, within its budget", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), '12f-stall-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['src/processes/web.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dir, 'app.db')}`,
      LOG_LEVEL: 'info',
      RATE_LIMIT_MAX: '0',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.after(() => child.kill('SIGKILL'));

  // The port it got (PORT=0) is in its ready line; from then on, a log collector that stopped
  // reading: nothing consumes the pipe once its buffers are full.
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const read = (chunk: Buffer) => {
      text += String(chunk);
      // Whole lines only: the last one may still be arriving.
      const ready = text
        .split('\n')
        .slice(0, -1)
        .find((line) => line.includes('"msg":"web ready"'));
      if (!ready) return;
      child.stdout.off('data', read);
      child.stdout.pause();
      resolve((JSON.parse(ready) as { address: { port: number } }).address.port);
    };
    child.stdout.on('data', read);
    void exited.then((code) => reject(new Error(`exit ${code} before ready: ${stderr}`)));
  });
  // About a megabyte of access lines, several times what the pipe and its reader hold.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 500; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/user?limit=1`);
        await res.arrayBuffer();
      }
    }),
  );

  const started = performance.now();
  child.kill('SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), SHUTDOWN_TIMEOUT_MS + 5000)),
  ]);
  const elapsed = performance.now() - started;
  assert.equal(code, 0, `exit ${code} after ${Math.round(elapsed)} ms; stderr: ${stderr}`);
  assert.ok(elapsed < SHUTDOWN_TIMEOUT_MS, `exited ${Math.round(elapsed)} ms after SIGTERM`);
  assert.match(stderr, /log lines lost at exit/, 'the pipe was full: the stall really happened');
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHUTDOWN_TIMEOUT_MS = 5000;

interface Web {
  child: ChildProcessByStdio<null, Readable, Readable>;
  port: number;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** The web process with stdout piped to this test, from its ready line on left unread. */
async function startWeb(t: TestContext): Promise<Web> {
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

  // The port it got (PORT=0) is in its ready line.
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
  return { child, port, exited, stderr: () => stderr };
}

/** `clients` clients making `each` requests one after another: an access line each. */
async function requests(port: number, clients: number, each: number): Promise<void> {
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < each; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/user?limit=1`);
        await res.arrayBuffer();
      }
    }),
  );
}

/** SIGTERM, then the exit code and how long it took (or 'hung' well past the budget). */
async function terminate(web: Web): Promise<{ code: number | null | 'hung'; elapsed: number }> {
  const started = performance.now();
  web.child.kill('SIGTERM');
  const code = await Promise.race([
    web.exited,
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), SHUTDOWN_TIMEOUT_MS + 5000)),
  ]);
  return { code, elapsed: performance.now() - started };
}

test("web — when stdout's reader stops reading, then SIGTERM still ends the process, with exit 0, within its budget", async (t) => {
  const web = await startWeb(t);
  // A log collector that stopped reading: nothing consumes the pipe once its buffers are full.
  // About a megabyte of access lines, several times what the pipe and its reader hold.
  await requests(web.port, 8, 500);
  const { code, elapsed } = await terminate(web);
  assert.equal(code, 0, `exit ${code} after ${Math.round(elapsed)} ms; stderr: ${web.stderr()}`);
  assert.ok(elapsed < SHUTDOWN_TIMEOUT_MS, `exited ${Math.round(elapsed)} ms after SIGTERM`);
  assert.match(
    web.stderr(),
    /log lines lost at exit/,
    'the pipe was full: the stall really happened',
  );
});

test("web — when stdout's reader has gone (a closed pipe), then SIGTERM still ends the process, with exit 0, within its budget", async (t) => {
  const web = await startWeb(t);
  // The reader closes its end (`web | head -1` once head has its line): every write from now
  // on fails with EPIPE. The shutdown's own lines are then the first to meet it, at the exit's
  // synchronous flush.
  web.child.stdout.destroy();
  const { code, elapsed } = await terminate(web);
  assert.equal(code, 0, `exit ${code} after ${Math.round(elapsed)} ms; stderr: ${web.stderr()}`);
  assert.ok(elapsed < SHUTDOWN_TIMEOUT_MS, `exited ${Math.round(elapsed)} ms after SIGTERM`);
});

/**
 * The web process started with `env`, its stdout's reader gone before it writes a line (`web |
 * head -c 0`): its exit code, or 'hung' if it is still running after 10 s.
 */
async function startWithReaderGone(env: Record<string, string>) {
  const child = spawn(process.execPath, ['src/processes/web.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const code = await Promise.race([
    new Promise<number | null>((resolve) => child.once('exit', resolve)),
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000)),
  ]);
  child.kill('SIGKILL');
  return { code, stderr };
}

test("web — when stdout's reader has gone, then a config error still ends the process with exit 1", async () => {
  const { code, stderr } = await startWithReaderGone({ PORT: 'abc' });
  assert.equal(code, 1, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error:/, 'no trace: the reader is simply gone');
});

test("web — when stdout's reader has gone, then a fatal line (production without access control) still ends the process with exit 1", async () => {
  // The fatal line is flushed synchronously, as pino flushes every fatal line: the write that
  // met EPIPE there was retried every 100 ms, forever.
  const { code, stderr } = await startWithReaderGone({ NODE_ENV: 'production' });
  assert.equal(code, 1, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error:/, 'no trace: the reader is simply gone');
});

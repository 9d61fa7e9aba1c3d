import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AdminContext, AdminIo } from '../../src/admin/command.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createStore } from '../../src/store/index.ts';
import { UserService } from '../../src/users/user-service.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ADMIN = 'src/processes/admin.ts';

/** A private directory removed after the test. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 't12f-admin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Streams standing in for the process's: what a command writes is kept as text. */
export function captureIo(options: { stdin?: string; tty?: boolean } = {}) {
  const chunks = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') =>
    Object.assign(
      new Writable({
        write(chunk, _encoding, done) {
          chunks[key] += String(chunk);
          done();
        },
      }),
      { isTTY: options.tty === true },
    );
  const stdin = Object.assign(new PassThrough(), { isTTY: options.tty === true });
  if (options.stdin !== undefined) stdin.end(options.stdin);
  const io: AdminIo = {
    stdin,
    stdout: sink('stdout'),
    stderr: sink('stderr'),
    env: {},
    isTTY: options.tty === true,
  };
  return { io, stdout: () => chunks.stdout, stderr: () => chunks.stderr };
}

/** The context the admin entry builds, on `url`, with logs kept as parsed lines. */
export async function openTestContext(
  t: TestContext,
  url: string,
  io: AdminIo = captureIo().io,
): Promise<AdminContext & { logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'info' });
  const logger = createLogger({ level: 'info', pretty: false, destination });
  const store = await createStore({
    url,
    poolMax: 2,
    connectTimeoutMs: 2000,
    statementTimeoutMs: 0,
  });
  // Tolerant: a command run through runAdminCommand closes the store itself.
  t.after(() => store.close().catch(() => undefined));
  return { config, logger, store, users: new UserService({ store }), io, logs };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node src/processes/admin.ts …` as its own process, where exit codes and streams matter. */
export function runAdmin(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<Run> {
  const child = spawn(process.execPath, [ADMIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  child.stdin.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** NDJSON text of records. */
export const ndjson = (records: readonly unknown[]) =>
  records.map((r) => `${typeof r === 'string' ? r : JSON.stringify(r)}\n`).join('');

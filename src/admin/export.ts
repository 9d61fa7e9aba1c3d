import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { User } from '../users/user.ts';
import { EXIT, parseOptions, type AdminCommand, type AdminContext } from './command.ts';
import { Progress, costOf, formatUsers } from './progress.ts';

const USAGE = `Usage: admin export [--out FILE]

Writes every user as NDJSON, one record per line in the API's key order (name, email,
createdAt, updatedAt, id), in id order. Reads page by page: memory stays flat.

  --out FILE   write to FILE (through a temporary file renamed at the end, so a failed
               export never leaves a partial FILE); default: stdout

Logs, progress and the summary go to stderr; stdout carries only the records.
Exit codes: 0 done, 1 the output could not be written, 64 usage, 69 store unreachable,
78 bad config.
`;

const OPTIONS = { out: { type: 'string' } } as const;

interface ExportOptions {
  out: string | undefined;
}

/** Lines grouped into chunks of about 64 KiB: one write per chunk, not per record. */
async function* ndjson(users: AsyncIterable<User>, progress: Progress): AsyncGenerator<string> {
  let chunk = '';
  let records = 0;
  for await (const user of users) {
    chunk += `${JSON.stringify(user)}\n`;
    records++;
    if (chunk.length >= 65_536) {
      yield chunk;
      progress.advance(records);
      chunk = '';
      records = 0;
    }
  }
  if (chunk.length > 0) yield chunk;
  progress.advance(records);
}

/** Writes through a temporary file next to `path` and renames it over `path` on success. */
async function writeFileAtomically(path: string, source: Readable): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await pipeline(source, createWriteStream(temporary, { flags: 'wx' }));
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

const isOutputError = (error: unknown) =>
  error instanceof Error &&
  (typeof (error as { syscall?: unknown }).syscall === 'string' ||
    (error as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE');

async function exportUsers(context: AdminContext, options: ExportOptions): Promise<number> {
  const { users, logger, io } = context;
  const log = logger.child({ command: 'export' });
  const total = await users.count();
  log.info({ total, out: options.out ?? 'stdout' }, 'exporting');
  const progress = new Progress({ label: 'export', total, stream: io.stderr, logger: log });
  const source = Readable.from(ndjson(users.stream({ pageSize: 1000 }), progress));
  try {
    if (options.out === undefined) await pipeline(source, io.stdout, { end: false });
    else await writeFileAtomically(options.out, source);
  } catch (error) {
    // A store failure keeps its own exit code; a system call's failure is the output's.
    if (!isOutputError(error)) throw error;
    io.stderr.write(`admin export: cannot write ${options.out ?? 'stdout'}: ${String(error)}\n`);
    return EXIT.failure;
  } finally {
    progress.finish();
  }
  log.info({ exported: progress.count, durationMs: Math.round(progress.elapsedMs()) }, 'exported');
  io.stderr.write(
    `export: ${formatUsers(progress.count)} to ${options.out ?? 'stdout'} ${costOf(progress)}\n`,
  );
  return EXIT.ok;
}

/** `admin export`: every user as NDJSON, for backups and moves between stores. */
export const exportCommand: AdminCommand<ExportOptions> = {
  name: 'export',
  usage: USAGE,
  needsSchema: true,
  parse(argv) {
    return { out: parseOptions(argv, OPTIONS).out };
  },
  run: exportUsers,
};

import { addResults } from '../store/import-plan.ts';
import { validationFailed } from '../users/errors.ts';
import { IMPORT_MODES, type ImportMode, type NewUser } from '../users/user-store.ts';
import {
  EXIT,
  UsageError,
  describeFailure,
  integerOption,
  parseOptions,
  type AdminCommand,
  type AdminContext,
} from './command.ts';
import {
  checkFile,
  inputFormOf,
  recordWord,
  recordsOf,
  spool,
  type CheckResult,
  type InputForm,
} from './import-file.ts';
import { Progress, costOf, formatCount, formatUsers } from './progress.ts';
import { createLineParser } from './user-lines.ts';

const USAGE = `Usage: admin import [--in FILE] [--dry-run] [--mode newer|skip|overwrite] [--batch-size N]
                    [--no-events]

Reads NDJSON (one user per line, as \`admin export\` writes it) from stdin or --in FILE and
writes it with its ids and timestamps. The tutorial's users are read as well, as
\`mongoexport --collection user\` writes them (one document a line, or --jsonArray; Extended
JSON, canonical or relaxed): \`_id\` becomes the id, createdAt and updatedAt are kept, other
attributes are listed as not kept. Every line is checked first (the API's rules, ids,
timestamps, no id or address twice); if any line is bad, they are listed by number and
NOTHING is imported. Then users are written in batches, each in one transaction: a batch that
fails is rolled back whole, the import stops, and batches before it stay written. Running the
same import again changes nothing, so rerun it once the cause is fixed.

  --in FILE        read FILE instead of stdin
  --dry-run        check and plan every batch, then roll it back: reports what would change
  --mode MODE      an id that exists with other content: newer (default) replaces it when
                   the line's updatedAt is later; skip keeps it; overwrite replaces it
  --batch-size N   users per transaction (default 2000, at most 10,000)
  --no-events      record no user.created/user.updated events (a move between stores: they
                   were published where the users came from); by default every written
                   user records one, as any write does

Exit codes: 0 done, 1 the input cannot be read, 64 usage, 65 bad lines or an address another
user holds, 69 store unreachable, 78 bad config.
`;

const OPTIONS = {
  in: { type: 'string' },
  'dry-run': { type: 'boolean' },
  mode: { type: 'string' },
  'batch-size': { type: 'string' },
  events: { type: 'boolean', default: true },
} as const;

interface ImportOptions {
  in: string | undefined;
  dryRun: boolean;
  mode: ImportMode;
  batchSize: number;
  events: boolean;
}

const MAX_REPORTED = 100;

function reportBadLines(
  { io }: AdminContext,
  check: CheckResult,
  records: number,
  form: InputForm,
): number {
  const word = recordWord(form);
  for (const { line, errors } of check.bad) {
    io.stderr.write(
      `${word} ${line}: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}\n`,
    );
  }
  const more = check.badCount - check.bad.length;
  if (more > 0) io.stderr.write(`… and ${formatCount(more)} more bad ${word}s\n`);
  io.stderr.write(
    `admin import: ${formatCount(check.badCount)} of ${formatCount(records + check.badCount)} ${word}s are invalid; nothing was imported\n`,
  );
  return EXIT.dataError;
}

/**
 * Attributes of the tutorial's documents that our users have no place for: said before the
 * import, so nobody learns of the loss later. The records themselves are imported.
 */
function reportDropped({ io }: AdminContext, log: AdminContext['logger'], check: CheckResult) {
  if (check.dropped.size === 0) return;
  const list = [...check.dropped]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, count]) => `${name} (${formatCount(count)} user${count === 1 ? '' : 's'})`);
  log.warn({ dropped: Object.fromEntries(check.dropped) }, 'attributes not kept');
  io.stderr.write(
    `admin import: not kept, a user here has only name, email, id and timestamps: ${list.join(', ')}\n`,
  );
}

async function* batchesOf(
  path: string,
  form: InputForm,
  size: number,
): AsyncGenerator<{ users: NewUser[]; first: number; last: number }> {
  const parse = createLineParser();
  let users: NewUser[] = [];
  let first = 0;
  let last = 0;
  for await (const { number, text } of recordsOf(path, form)) {
    const parsed = parse(text);
    // Checked already; a file changed since then is bad data, like a bad line.
    if (!('user' in parsed)) {
      throw validationFailed([
        { field: `${recordWord(form)} ${number}`, message: 'changed since it was checked' },
      ]);
    }
    if (users.length === 0) first = number;
    users.push(parsed.user);
    last = number;
    if (users.length === size) {
      yield { users, first, last };
      users = [];
    }
  }
  if (users.length > 0) yield { users, first, last };
}

async function importFile(
  context: AdminContext,
  options: ImportOptions,
  path: string,
): Promise<number> {
  const { users, logger, io } = context;
  const log = logger.child({ command: 'import', dryRun: options.dryRun, mode: options.mode });
  const checking = new Progress({ label: 'check', stream: io.stderr, logger: log });
  const form = await inputFormOf(path);
  const check = await checkFile(path, {
    form,
    maxReported: MAX_REPORTED,
    onLine: () => checking.advance(1),
  });
  checking.finish();
  if (check.badCount > 0) return reportBadLines(context, check, check.records, form);
  reportDropped(context, log, check);
  log.info({ records: check.records, form }, 'every record valid; importing');

  const progress = new Progress({
    label: 'import',
    total: check.records,
    stream: io.stderr,
    logger: log,
  });
  let result = { created: 0, updated: 0, unchanged: 0, skipped: 0 };
  try {
    for await (const batch of batchesOf(path, form, options.batchSize)) {
      try {
        const done = await users.importMany(batch.users, {
          mode: options.mode,
          dryRun: options.dryRun,
          events: options.events,
        });
        result = addResults(result, done);
      } catch (error) {
        progress.finish();
        const { code, message } = describeFailure(error);
        log.error({ err: error, lines: [batch.first, batch.last] }, 'batch rolled back');
        io.stderr.write(
          `admin import: ${recordWord(form)}s ${batch.first}–${batch.last} failed and were rolled back: ${message}\n` +
            `admin import: ${formatUsers(progress.count)} in earlier batches stay ${options.dryRun ? 'unwritten (dry run)' : 'written'}; ` +
            'fix the cause and run the same import again (it changes nothing already done)\n',
        );
        return code;
      }
      progress.advance(batch.users.length);
    }
  } finally {
    progress.finish();
  }
  log.info({ ...result, durationMs: Math.round(progress.elapsedMs()) }, 'imported');
  io.stdout.write(
    `import${options.dryRun ? ' (dry run, nothing written)' : ''}: ${formatUsers(check.records)} read; ` +
      `${formatCount(result.created)} created, ${formatCount(result.updated)} updated, ` +
      `${formatCount(result.unchanged)} unchanged, ${formatCount(result.skipped)} skipped (mode ${options.mode}) ${costOf(progress)}\n`,
  );
  return EXIT.ok;
}

const isSystemError = (error: unknown) =>
  error instanceof Error && typeof (error as { syscall?: unknown }).syscall === 'string';

async function importInput(context: AdminContext, options: ImportOptions): Promise<number> {
  if (options.in !== undefined) return importFile(context, options, options.in);
  if (context.io.stdin.isTTY) {
    context.io.stderr.write('admin import: no input: pipe NDJSON into stdin or give --in FILE\n');
    return EXIT.usage;
  }
  const spooled = await spool(context.io.stdin);
  try {
    return await importFile(context, options, spooled.path);
  } finally {
    await spooled.remove();
  }
}

/** An unreadable --in, or no room to copy stdin: exit 1 naming it, not a bug's 70. */
async function importUsers(context: AdminContext, options: ImportOptions): Promise<number> {
  try {
    return await importInput(context, options);
  } catch (error) {
    if (!isSystemError(error)) throw error;
    const input = options.in ?? 'stdin';
    context.io.stderr.write(`admin import: cannot read ${input}: ${(error as Error).message}\n`);
    return EXIT.failure;
  }
}

/** `admin import`: users from an export, with their ids and timestamps. */
export const importCommand: AdminCommand<ImportOptions> = {
  name: 'import',
  usage: USAGE,
  needsSchema: true,
  parse(argv) {
    const values = parseOptions(argv, OPTIONS);
    const mode = values.mode ?? 'newer';
    if (!(IMPORT_MODES as readonly string[]).includes(mode)) {
      throw new UsageError(`--mode must be one of ${IMPORT_MODES.join(', ')}`);
    }
    return {
      in: values.in,
      dryRun: values['dry-run'] === true,
      mode: mode as ImportMode,
      batchSize: integerOption('batch-size', values['batch-size'], {
        min: 1,
        max: 10_000,
        default: 2000,
      }),
      events: values.events !== false,
    };
  },
  run: importUsers,
};

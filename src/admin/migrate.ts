import type { MigrationStatus } from '../users/user-store.ts';
import { EXIT, UsageError, parseOptions, type AdminCommand, type AdminContext } from './command.ts';

const USAGE = `Usage: admin migrate [--status | --rollback --yes]

Applies pending migrations under the store's lock (safe to run twice at once).

  --status     list applied and pending migrations; change nothing
  --rollback   revert the last applied migration; needs --yes, because reverting the first
               one drops the users table and every user in it (on MongoDB: its indexes)
  --yes        confirm --rollback

Exit codes: 0 done, 64 usage, 65 existing data breaks a migration (records sharing a value a
new unique index forbids: they are listed), 69 store unreachable or its version unsupported,
70 a migration failed, 78 bad config.
`;

const OPTIONS = {
  status: { type: 'boolean' },
  rollback: { type: 'boolean' },
  yes: { type: 'boolean' },
} as const;

type Action = 'apply' | 'status' | 'rollback';

const counts = (status: MigrationStatus) =>
  `${status.applied.length} applied, ${status.pending.length} pending`;

async function apply({ store, logger, io }: AdminContext): Promise<number> {
  const before = await store.migrationStatus();
  const after = await store.migrate();
  logger.info({ applied: before.pending, total: after.applied.length }, 'migrations applied');
  io.stdout.write(
    before.pending.length === 0
      ? `migrate: schema already current (${counts(after)})\n`
      : `migrate: applied ${before.pending.join(', ')} (${counts(after)})\n`,
  );
  return EXIT.ok;
}

async function status({ store, io }: AdminContext): Promise<number> {
  const current = await store.migrationStatus();
  for (const name of current.applied) io.stdout.write(`applied  ${name}\n`);
  for (const name of current.pending) io.stdout.write(`pending  ${name}\n`);
  io.stdout.write(`migrate: ${counts(current)}\n`);
  return EXIT.ok;
}

async function rollback({ store, logger, io }: AdminContext): Promise<number> {
  const last = (await store.migrationStatus()).applied.at(-1);
  if (last === undefined) {
    io.stdout.write('migrate: nothing to roll back (no migration is applied)\n');
    return EXIT.ok;
  }
  const after = await store.rollback();
  logger.warn({ migration: last }, 'migration rolled back');
  io.stdout.write(`migrate: rolled back ${last} (${counts(after)})\n`);
  return EXIT.ok;
}

/** `admin migrate`: the release step by hand, its status, and an explicit way back. */
export const migrateCommand: AdminCommand<Action> = {
  name: 'migrate',
  usage: USAGE,
  needsSchema: false,
  parse(argv) {
    const values = parseOptions(argv, OPTIONS);
    if (values.status && values.rollback)
      throw new UsageError('--status and --rollback exclude each other');
    if (values.yes && !values.rollback) throw new UsageError('--yes only confirms --rollback');
    if (values.rollback && !values.yes) {
      throw new UsageError(
        '--rollback reverts the last migration and may drop data; add --yes to confirm',
      );
    }
    return values.rollback ? 'rollback' : values.status ? 'status' : 'apply';
  },
  run(context, action) {
    if (action === 'status') return status(context);
    if (action === 'rollback') return rollback(context);
    return apply(context);
  },
};

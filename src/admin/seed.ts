import { addResults } from '../store/import-plan.ts';
import {
  EXIT,
  integerOption,
  parseOptions,
  type AdminCommand,
  type AdminContext,
} from './command.ts';
import { Progress, costOf, formatCount, formatUsers } from './progress.ts';
import { seedBatches } from './seed-users.ts';

const USAGE = `Usage: admin seed [--count N] [--seed S] [--force] [--batch-size N] [--no-events]

Fills the store with realistic users (names, addresses, timestamps over 2024), the same users
for the same --seed on every run.

  --count N        how many users (default 100, at most 10,000,000)
  --seed S         which users (default 1); the same seed gives the same users
  --force          add to a store that already holds users (numbering continues after them)
  --batch-size N   users per transaction (default 2000)
  --no-events      record no user.created events (by default each user records one, as
                   any write does, so webhook subscribers see seeded users too)

Exit codes: 0 done, 1 refused (the store is not empty and --force is missing), 64 usage,
65 an address is taken, 69 store unreachable, 78 bad config.
`;

const OPTIONS = {
  count: { type: 'string' },
  seed: { type: 'string' },
  force: { type: 'boolean' },
  'batch-size': { type: 'string' },
  events: { type: 'boolean', default: true },
} as const;

interface SeedOptions {
  count: number;
  seed: number;
  force: boolean;
  batchSize: number;
  events: boolean;
}

async function seed(context: AdminContext, options: SeedOptions): Promise<number> {
  const { users, logger, io } = context;
  const existing = await users.count();
  if (existing > 0 && !options.force) {
    io.stderr.write(
      `admin seed: the store already holds ${formatUsers(existing)}; add --force to add ${formatCount(options.count)} more\n`,
    );
    return EXIT.failure;
  }
  const log = logger.child({ command: 'seed', seed: options.seed });
  log.info({ count: options.count, existing }, 'seeding');
  const progress = new Progress({
    label: 'seed',
    total: options.count,
    stream: io.stderr,
    logger: log,
  });
  let result = { created: 0, updated: 0, unchanged: 0, skipped: 0 };
  try {
    // Numbering continues after the users already there, so a second seed adds new addresses.
    for (const batch of seedBatches({ ...options, from: existing })) {
      result = addResults(
        result,
        await users.importMany(batch, { mode: 'skip', events: options.events }),
      );
      progress.advance(batch.length);
    }
  } finally {
    progress.finish();
  }
  log.info({ ...result, durationMs: Math.round(progress.elapsedMs()) }, 'seeded');
  const already = result.unchanged + result.skipped;
  io.stdout.write(
    `seed: ${formatUsers(result.created)} created` +
      (already > 0 ? `, ${formatCount(already)} already there` : '') +
      ` (seed ${options.seed}, ${formatCount(existing + result.created)} in the store) ${costOf(progress)}\n`,
  );
  return EXIT.ok;
}

/** `admin seed`: realistic users for development, demos and benchmarks. */
export const seedCommand: AdminCommand<SeedOptions> = {
  name: 'seed',
  usage: USAGE,
  needsSchema: true,
  parse(argv) {
    const values = parseOptions(argv, OPTIONS);
    return {
      count: integerOption('count', values.count, { min: 1, max: 10_000_000, default: 100 }),
      seed: integerOption('seed', values.seed, { min: 0, max: 2 ** 31 - 1, default: 1 }),
      force: values.force === true,
      batchSize: integerOption('batch-size', values['batch-size'], {
        min: 1,
        max: 10_000,
        default: 2000,
      }),
      events: values.events !== false,
    };
  },
  run: seed,
};

#!/usr/bin/env node
import {
  EXIT,
  runAdminCommand,
  type AdminCommand,
  type AdminContext,
  type AdminIo,
  type StandaloneCommand,
} from '../admin/command.ts';
import { consoleCommand } from '../admin/console.ts';
import { doctorAppCommand, doctorHostCommand } from '../admin/doctor.ts';
import { eventsCommand } from '../admin/events.ts';
import { exportCommand } from '../admin/export.ts';
import { importCommand } from '../admin/import.ts';
import { migrateCommand } from '../admin/migrate.ts';
import { seedCommand } from '../admin/seed.ts';
import { loadConfig } from '../config/index.ts';
import { createLogger } from '../log/logger.ts';
import { createStore } from '../store/index.ts';
import { UserService } from '../users/user-service.ts';
import { TRACE_LOG_FIELDS } from '../telemetry/context.ts';
import type { Tracing } from '../telemetry/tracing.ts';
import { readRelease, traceProcess } from './runtime.ts';

/** Set once a data command loads the config; its spans are flushed before the exit. */
let tracing: Tracing | undefined;

/**
 * `npm run admin -- <command> …`: one-off commands. Each returns its exit code; this entry point
 * is the only place that turns it into process.exitCode.
 */
type Command = (argv: string[], io: AdminIo) => Promise<number>;

/**
 * The context every data command shares, built here once, as the web process builds its own:
 * the same config, store factory and UserService. Logs go to stderr: stdout is the command's.
 * Creating the store connects nothing; the command's first call does.
 */
async function openContext(io: AdminIo): Promise<AdminContext> {
  const config = loadConfig(io.env);
  const logger = createLogger({
    level: config.logLevel,
    pretty: io.stderr.isTTY === true && !io.env.NO_COLOR,
    stream: 'stderr',
    ...(config.telemetry.enabled && TRACE_LOG_FIELDS),
  }).child({ process: 'admin' });
  tracing = await traceProcess('admin', config, readRelease(config));
  const store = await createStore({
    ...config.store,
    onBackgroundError: (error) => logger.warn({ err: error }, 'store connection lost'),
  });
  return { config, logger, store, users: new UserService({ store }), io };
}

const asEntry =
  <Options>(command: AdminCommand<Options> | StandaloneCommand<Options>): Command =>
  (argv, io) =>
    runAdminCommand(command, argv, io, openContext);

/** Each command with the line `admin --help` says about it. */
const COMMANDS: Record<string, { run: Command; summary: string }> = {
  'doctor host': {
    run: asEntry(doctorHostCommand),
    summary: "checks this machine can run KVM guests (the tutorial's checklist)",
  },
  'doctor app': {
    run: asEntry(
      doctorAppCommand(
        readRelease({ gitCommit: process.env.GIT_COMMIT, buildTime: process.env.BUILD_TIME }),
      ),
    ),
    summary: 'checks this deployment: config, store reachable, schema current',
  },
  migrate: { run: asEntry(migrateCommand), summary: "brings the store's schema up to date" },
  seed: { run: asEntry(seedCommand), summary: 'fills an empty store with sample users' },
  export: { run: asEntry(exportCommand), summary: 'writes every user as JSON lines' },
  import: {
    run: asEntry(importCommand),
    summary: 'loads users from JSON lines, all or nothing',
  },
  console: {
    run: asEntry(consoleCommand),
    summary: "a REPL with the service's config, store and users",
  },
  events: {
    run: asEntry(eventsCommand),
    summary: "lists the outbox's events and redelivers them to webhooks",
  },
};

const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
const listing = (names: string[]) =>
  names.map((name) => `  ${name.padEnd(width)}${COMMANDS[name]!.summary}`).join('\n');
const usage = () =>
  `Usage: admin <command> [options]    (admin <command> --help for its options)\n\nCommands:\n${listing(
    Object.keys(COMMANDS),
  )}\n`;

/** The longest command name the arguments start with, so `doctor host` wins over `doctor`. */
function resolveCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (let words = Math.min(argv.length, 3); words > 0; words--) {
    const command = COMMANDS[argv.slice(0, words).join(' ')];
    if (command) return { command: command.run, rest: argv.slice(words) };
  }
  return undefined;
}

/** `admin doctor` alone: the commands it begins. */
function groupUsage(word: string | undefined): string | undefined {
  const names = Object.keys(COMMANDS).filter((name) => name.startsWith(`${word} `));
  if (!word || names.length === 0) return undefined;
  return `Usage: admin ${word} <${names.map((name) => name.slice(word.length + 1)).join('|')}> [options]\n\n${listing(names)}\n`;
}

const io: AdminIo = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  isTTY: process.stdout.isTTY === true,
};

// A reader that stops early (`admin events list | head`) closes the pipe: a normal end of the
// output, not an error, whatever command was writing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
}

const argv = process.argv.slice(2);
const resolved = resolveCommand(argv);
if (resolved === undefined) {
  const group = argv.length === 1 ? groupUsage(argv[0]) : undefined;
  if (['-h', '--help', 'help'].includes(argv[0] ?? '')) {
    io.stdout.write(usage());
  } else if (group) {
    io.stderr.write(group);
    process.exitCode = EXIT.usage;
  } else {
    const unknown = argv.length > 0 ? `admin: unknown command "${argv.join(' ')}"\n\n` : '';
    io.stderr.write(`${unknown}${usage()}`);
    process.exitCode = EXIT.usage;
  }
} else {
  try {
    process.exitCode = await resolved.command(resolved.rest, io);
  } catch (error) {
    io.stderr.write(
      `admin: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EXIT.software;
  }
  // A one-off command has no shutdown budget: its last spans get up to 2 s to leave. Past that,
  // an export still waiting on a collector that never answers would hold the process open for
  // up to OTEL_EXPORTER_OTLP_TIMEOUT, so the process ends here, once its output has left: what
  // an export wrote may still be queued for a reader that is slower than the store (a pipe to
  // the parent process or to gzip), and an exit would drop it.
  if (tracing) {
    await tracing.shutdown(2000);
    await Promise.all([drained(process.stdout), drained(process.stderr)]);
    process.exit();
  }
}

/** Resolves once nothing written to `stream` waits in the process any more. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (stream.writableLength === 0 || stream.destroyed) resolve();
      else setTimeout(check, 10);
    };
    check();
  });
}

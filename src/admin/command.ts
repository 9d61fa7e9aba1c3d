import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { inRootSpan } from '../telemetry/context.ts';
import { ConfigError, type Config } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';
import { isDomainError } from '../users/errors.ts';
import type { UserService } from '../users/user-service.ts';
import { ensureSchema, type UserStore } from '../users/user-store.ts';

/**
 * Every admin command's exit codes, the doctors' verdicts included: sysexits(3) codes, the
 * convention of one-off Unix commands, from 64 up. The README and docs/doctor.md list them.
 */
export const EXIT = {
  ok: 0,
  /** The command ran and failed, or refused (e.g. seed into a non-empty store); doctor: not ready. */
  failure: 1,
  /** doctor --strict: ready, but with warnings. */
  warnings: 2,
  /** doctor: a required check could not be evaluated. */
  notEvaluated: 3,
  usage: 64,
  /** Bad input data: invalid import lines, an address another user holds. */
  dataError: 65,
  /** The store cannot be reached. */
  unavailable: 69,
  /** A bug: logged with its stack. */
  software: 70,
  /** Bad environment variables. */
  config: 78,
} as const;

/** The process's streams and environment as the admin commands use them; tests pass their own. */
export interface AdminIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal (colour only then). */
  isTTY: boolean;
}

/** What every data command runs with: the web process's config, store and service. */
export interface AdminContext {
  config: Config;
  /** On stderr: stdout carries the command's output. */
  logger: Logger;
  store: UserStore;
  users: UserService;
  io: AdminIo;
}

/** Thrown by `parse` for anything wrong on the command line: usage and exit 64. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * One admin command: parse its arguments without touching anything, then run with the shared
 * context. Destructive work needs an explicit flag, which `parse` enforces.
 */
export interface AdminCommand<Options> {
  name: string;
  usage: string;
  /** Whether the schema must be current first (the embedded store migrates, as the web does). */
  needsSchema: boolean;
  parse(argv: string[]): Options;
  run(context: AdminContext, options: Options): Promise<number>;
}

/**
 * A command that opens nothing shared and runs on the streams alone: the doctors, which must
 * report on a configuration the shared context would refuse, and open what they check themselves.
 */
export interface StandaloneCommand<Options> extends Omit<
  AdminCommand<Options>,
  'needsSchema' | 'run'
> {
  run(io: AdminIo, options: Options): Promise<number>;
}

/** node:util parseArgs, strict, no positionals; its errors become UsageErrors. */
export function parseOptions<T extends ParseArgsOptionsConfig>(argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      options,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** A whole number from an option, within bounds; undefined keeps the default. */
export function integerOption(
  name: string,
  raw: string | undefined,
  bounds: { min: number; max: number; default: number },
): number {
  if (raw === undefined) return bounds.default;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= bounds.min && value <= bounds.max)) {
    throw new UsageError(`--${name} must be a whole number from ${bounds.min} to ${bounds.max}`);
  }
  return value;
}

/** The exit code for a failure, and what to tell the operator about it. */
export function describeFailure(error: unknown): { code: number; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ConfigError) return { code: EXIT.config, message };
  if (isDomainError(error, 'STORE_UNAVAILABLE')) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return { code: EXIT.unavailable, message: `${message}${cause}` };
  }
  if (isDomainError(error, 'EMAIL_TAKEN') || isDomainError(error, 'VALIDATION_FAILED')) {
    return { code: EXIT.dataError, message };
  }
  if (isDomainError(error)) return { code: EXIT.failure, message };
  return { code: EXIT.software, message };
}

/**
 * `npm run admin seed --count 5` hands `--count` to npm, not to us (the command sees `seed 5`):
 * npm passes options on only after `--`. npm names the script it runs in the environment.
 */
function npmHint(io: AdminIo): string {
  if (io.env.npm_lifecycle_event !== 'admin') return '';
  return 'With npm run, put -- before the command: npm run admin -- <command> [options]\n';
}

/**
 * Runs a command the way the admin entry does: `--help`, usage errors (64) before anything is
 * opened, then the context, the schema check, the command, and the store closed whatever
 * happens. Every failure ends as a one-line message on stderr and a non-zero exit code.
 */
export async function runAdminCommand<Options>(
  command: AdminCommand<Options> | StandaloneCommand<Options>,
  argv: string[],
  io: AdminIo,
  openContext: (io: AdminIo) => Promise<AdminContext>,
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(command.usage);
    return EXIT.ok;
  }
  let options: Options;
  try {
    options = command.parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`admin ${command.name}: ${error.message}\n${npmHint(io)}\n${command.usage}`);
    return EXIT.usage;
  }
  if (!('needsSchema' in command)) return command.run(io, options);
  let context: AdminContext | undefined;
  try {
    context = await openContext(io);
    if (command.needsSchema) await ensureSchema(context.store);
    const opened = context;
    return await inRootSpan(`admin ${command.name}`, { 'admin.command': command.name }, () =>
      command.run(opened, options),
    );
  } catch (error) {
    const { code, message } = describeFailure(error);
    if (code === EXIT.software) context?.logger.error({ err: error }, 'admin command failed');
    io.stderr.write(`admin ${command.name}: ${message}\n`);
    return code;
  } finally {
    await context?.store.close();
  }
}

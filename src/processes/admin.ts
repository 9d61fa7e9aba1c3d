#!/usr/bin/env node
import { runDoctorHost, type CommandIo } from '../doctor/host/cli.ts';
import { doctorApp } from '../admin/doctor-app.ts';
import { readRelease } from './runtime.ts';

/**
 * `npm run admin -- <command> …`: one-off commands. Each returns its exit code; this entry point
 * is the only place that turns it into process.exitCode.
 */
type Command = (argv: string[], io: CommandIo) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  'doctor host': runDoctorHost,
  'doctor app': doctorApp(
    readRelease({ gitCommit: process.env.GIT_COMMIT, buildTime: process.env.BUILD_TIME }),
  ),
};

const EX_USAGE = 64;
const EX_SOFTWARE = 70;

const usage = () =>
  `Usage: admin <command> [options]\n\nCommands:\n${Object.keys(COMMANDS)
    .map((name) => `  ${name}`)
    .join('\n')}\n`;

/** The longest command name the arguments start with, so `doctor host` wins over `doctor`. */
function resolveCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (let words = Math.min(argv.length, 3); words > 0; words--) {
    const command = COMMANDS[argv.slice(0, words).join(' ')];
    if (command) return { command, rest: argv.slice(words) };
  }
  return undefined;
}

const io: CommandIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  isTTY: process.stdout.isTTY === true,
};

const argv = process.argv.slice(2);
const resolved = resolveCommand(argv);
if (resolved === undefined) {
  if (['-h', '--help', 'help'].includes(argv[0] ?? '')) {
    io.stdout.write(usage());
  } else {
    const unknown = argv.length > 0 ? `admin: unknown command "${argv.join(' ')}"\n\n` : '';
    io.stderr.write(`${unknown}${usage()}`);
    process.exitCode = EX_USAGE;
  }
} else {
  try {
    process.exitCode = await resolved.command(resolved.rest, io);
  } catch (error) {
    io.stderr.write(
      `admin: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EX_SOFTWARE;
  }
}

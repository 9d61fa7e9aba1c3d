import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { runAppChecks } from '../doctor/app/index.ts';
import { createHostProbe, runHostChecks } from '../doctor/host/index.ts';
import { renderJson, renderText } from '../doctor/render.ts';
import type { Report, Verdict } from '../doctor/report.ts';
import { createStore, redactUrl } from '../store/index.ts';
import { EXIT, UsageError, parseOptions, type AdminIo, type StandaloneCommand } from './command.ts';

const EXIT_CODES_TEXT = `Exit codes: 0 ready, 1 not ready, 2 warnings under --strict, 3 a required check could not be
evaluated, 64 usage error.
`;

const DOCTOR_HOST_USAGE = `Usage: admin doctor host [--json] [--strict] [--probe] [--root DIR] [--no-color]

Checks whether this machine can run KVM virtual machines.

  --json       print the report as JSON (schemaVersion 1)
  --strict     exit 2 when the host is ready but has warnings
  --probe      also start QEMU once to check that the KVM API answers
  --root DIR   examine a host described under DIR (a fixture, or a mounted system)
  --no-color   no colour, even on a terminal (NO_COLOR is honoured too)

${EXIT_CODES_TEXT}`;

const DOCTOR_APP_USAGE = `Usage: admin doctor app [--json] [--strict] [--no-color]

Checks this deployment: every variable valid, a store fit for production, the store reachable,
migrations current, and the release (version, commit).

${EXIT_CODES_TEXT}`;

/** The options both doctors take; `--no-color` is the negation of `color`. */
const REPORT_OPTIONS = {
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
  color: { type: 'boolean' },
} as const;

interface ReportOptions {
  json: boolean;
  strict: boolean;
  noColor: boolean;
}

const reportOptions = (values: { json?: boolean; strict?: boolean; color?: boolean }) => ({
  json: values.json === true,
  strict: values.strict === true,
  noColor: values.color === false,
});

/** A verdict's exit code: warnings fail only under --strict. */
export function exitCodeOf(verdict: Verdict, options: { strict?: boolean } = {}): number {
  switch (verdict) {
    case 'ready':
      return EXIT.ok;
    case 'ready-with-warnings':
      return options.strict === true ? EXIT.warnings : EXIT.ok;
    case 'not-ready':
      return EXIT.failure;
    case 'unknown':
      return EXIT.notEvaluated;
  }
}

/** Prints a doctor report as text or JSON and returns the documented exit code. */
function printReport(report: Report, title: string, options: ReportOptions, io: AdminIo): number {
  if (options.json) {
    io.stdout.write(renderJson(report));
  } else {
    // https://no-color.org: any non-empty NO_COLOR disables colour.
    const noColor = options.noColor || (io.env.NO_COLOR ?? '') !== '';
    io.stdout.write(renderText(report, { color: io.isTTY && !noColor, title }));
  }
  return exitCodeOf(report.verdict, options);
}

const isDirectory = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** `admin doctor host`: whether this machine can run KVM guests. */
export const doctorHostCommand: StandaloneCommand<
  ReportOptions & { probe: boolean; root: string }
> = {
  name: 'doctor host',
  usage: DOCTOR_HOST_USAGE,
  parse(argv) {
    const values = parseOptions(argv, {
      ...REPORT_OPTIONS,
      probe: { type: 'boolean' },
      root: { type: 'string' },
    });
    const root = values.root === undefined ? '/' : resolve(values.root);
    if (!isDirectory(root)) throw new UsageError(`--root ${values.root ?? ''} is not a directory`);
    return { ...reportOptions(values), probe: values.probe === true, root };
  },
  async run(io, options) {
    const report = runHostChecks(createHostProbe({ root: options.root, env: io.env }), options);
    return printReport(report, 'doctor host', options, io);
  },
};

/** `admin doctor app`: whether this deployment's config, store and schema would serve. */
export function doctorAppCommand(release: {
  version: string;
  commit: string | undefined;
  buildTime: string | undefined;
}): StandaloneCommand<ReportOptions> {
  return {
    name: 'doctor app',
    usage: DOCTOR_APP_USAGE,
    parse: (argv) => reportOptions(parseOptions(argv, REPORT_OPTIONS)),
    async run(io, options) {
      const report = await runAppChecks({
        env: io.env,
        redact: redactUrl,
        release,
        openStore: (config) => createStore({ ...config.store, poolMax: 1 }),
      });
      return printReport(report, 'doctor app', options, io);
    },
  };
}

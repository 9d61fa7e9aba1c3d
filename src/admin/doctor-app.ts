import { parseArgs } from 'node:util';
import type { CommandIo } from '../doctor/host/cli.ts';
import { runAppChecks } from '../doctor/app/index.ts';
import { printReport } from '../doctor/output.ts';
import { EXIT_CODES } from '../doctor/report.ts';
import { createStore, redactUrl } from '../store/index.ts';

export const DOCTOR_APP_USAGE = `Usage: admin doctor app [--json] [--strict] [--no-color]

Checks this deployment: every variable valid, a store fit for production, the store reachable,
migrations current, and the release (version, commit).

Exit codes: 0 ready, 1 not ready, 2 warnings under --strict, 3 a required check could not be
evaluated, 64 usage error.
`;

const OPTIONS = {
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function doctorApp(release: {
  version: string;
  commit: string | undefined;
  buildTime: string | undefined;
}) {
  return async (argv: string[], io: CommandIo): Promise<number> => {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: OPTIONS,
        allowPositionals: false,
        strict: true,
      }));
    } catch (error) {
      io.stderr.write(`doctor app: ${(error as Error).message}\n\n${DOCTOR_APP_USAGE}`);
      return EXIT_CODES.usage;
    }
    if (values.help) {
      io.stdout.write(DOCTOR_APP_USAGE);
      return EXIT_CODES.ready;
    }
    const report = await runAppChecks({
      env: io.env,
      redact: redactUrl,
      release,
      openStore: (config) => createStore({ ...config.store, poolMax: 1 }),
    });
    return printReport(
      report,
      {
        title: 'doctor app',
        json: values.json,
        noColor: values['no-color'],
        strict: values.strict,
      },
      io,
    );
  };
}

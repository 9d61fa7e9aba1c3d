import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { printReport } from '../output.ts';
import { EXIT_CODES } from '../report.ts';
import { runHostChecks } from './index.ts';
import { createHostProbe } from './probe.ts';

/** What a command may touch of its process; the composition root passes the real ones. */
export interface CommandIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal (colour only then). */
  isTTY: boolean;
}

export const DOCTOR_HOST_USAGE = `Usage: admin doctor host [--json] [--strict] [--probe] [--root DIR] [--no-color]

Checks whether this machine can run KVM virtual machines.

  --json       print the report as JSON (schemaVersion 1)
  --strict     exit 2 when the host is ready but has warnings
  --probe      also start QEMU once to check that the KVM API answers
  --root DIR   examine a host described under DIR (a fixture, or a mounted system)
  --no-color   no colour, even on a terminal (NO_COLOR is honoured too)

Exit codes: 0 ready, 1 not ready, 2 warnings under --strict, 3 a required check could not be
evaluated, 64 usage error.
`;

const OPTIONS = {
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
  probe: { type: 'boolean' },
  root: { type: 'string' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const isDirectory = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** `admin doctor host …`: prints the report and returns the documented exit code. */
export async function runDoctorHost(argv: string[], io: CommandIo): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: false,
      strict: true,
    }));
  } catch (error) {
    io.stderr.write(
      `doctor host: ${error instanceof Error ? error.message : String(error)}\n\n${DOCTOR_HOST_USAGE}`,
    );
    return EXIT_CODES.usage;
  }
  if (values.help) {
    io.stdout.write(DOCTOR_HOST_USAGE);
    return EXIT_CODES.ready;
  }
  const root = values.root === undefined ? '/' : resolve(values.root);
  if (!isDirectory(root)) {
    io.stderr.write(
      `doctor host: --root ${values.root ?? ''} is not a directory\n\n${DOCTOR_HOST_USAGE}`,
    );
    return EXIT_CODES.usage;
  }
  const report = runHostChecks(createHostProbe({ root, env: io.env }), {
    probe: values.probe === true,
  });
  return printReport(
    report,
    { title: 'doctor host', json: values.json, noColor: values['no-color'], strict: values.strict },
    io,
  );
}

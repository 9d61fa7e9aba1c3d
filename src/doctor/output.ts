import type { CommandIo } from './host/cli.ts';
import { renderJson, renderText } from './render.ts';
import { exitCodeOf, type Report } from './report.ts';

export interface OutputOptions {
  title: string;
  json?: boolean | undefined;
  noColor?: boolean | undefined;
  strict?: boolean | undefined;
}

/** Prints a doctor report as text or JSON and returns the documented exit code. */
export function printReport(report: Report, options: OutputOptions, io: CommandIo): number {
  if (options.json) {
    io.stdout.write(renderJson(report));
  } else {
    // https://no-color.org: any non-empty NO_COLOR disables colour.
    const noColor = options.noColor === true || (io.env.NO_COLOR ?? '') !== '';
    io.stdout.write(renderText(report, { color: io.isTTY && !noColor, title: options.title }));
  }
  return exitCodeOf(report.verdict, { strict: options.strict === true });
}

import { CHECK_STATUSES, type CheckStatus, type Report, type Verdict } from './report.ts';

const LABELS: Record<CheckStatus, string> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  info: 'INFO',
  skip: 'SKIP',
  unknown: '????',
};

// SGR codes: green, yellow, red, cyan, dim, magenta.
const COLOURS: Record<CheckStatus, string> = {
  pass: '32',
  warn: '33',
  fail: '31',
  info: '36',
  skip: '2',
  unknown: '35',
};

const VERDICT_TEXT: Record<Verdict, string> = {
  ready: 'ready',
  'ready-with-warnings': 'ready, with warnings',
  'not-ready': 'NOT ready',
  unknown: 'unknown (a required check could not be evaluated)',
};

const VERDICT_STATUS: Record<Verdict, CheckStatus> = {
  ready: 'pass',
  'ready-with-warnings': 'warn',
  'not-ready': 'fail',
  unknown: 'unknown',
};

export interface TextOptions {
  color: boolean;
  /** The heading, e.g. "doctor host". */
  title: string;
}

/** Human output: one line per check (status, id, what was found, then the hint), then the verdict. */
export function renderText(report: Report, options: TextOptions): string {
  const paint = (status: CheckStatus, text: string) =>
    options.color ? `\u001b[${COLOURS[status]}m${text}\u001b[0m` : text;
  const width = Math.max(0, ...report.checks.map((c) => c.id.length));
  const context = Object.entries(report.context)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  const lines = [context === '' ? options.title : `${options.title}: ${context}`];
  for (const check of report.checks) {
    const hint = check.status !== 'pass' && check.hint ? ` -> ${check.hint}` : '';
    lines.push(
      `${paint(check.status, LABELS[check.status])}  ${check.id.padEnd(width)}  ${check.summary}${hint}`,
    );
  }
  const counts = CHECK_STATUSES.map((s) => `${report.summary[s]} ${s}`).join(', ');
  lines.push(
    `verdict: ${paint(VERDICT_STATUS[report.verdict], VERDICT_TEXT[report.verdict])} (${counts})`,
  );
  return `${lines.join('\n')}\n`;
}

/** Machine output: the report as is; its fields are the stable contract (schemaVersion 1). */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

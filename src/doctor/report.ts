/**
 * The one report shape every `doctor` command produces (host and app): a list of checks
 * with a status, a severity, the evidence read and a hint, folded into a verdict (the admin
 * command turns it into the exit code). Documented in docs/doctor.md (the JSON report, the verdict
 * rules and the exit codes).
 */

export const CHECK_STATUSES = ['pass', 'warn', 'fail', 'info', 'skip', 'unknown'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** How much a check weighs in the verdict: only `required` checks can make a host not ready. */
export type Severity = 'required' | 'recommended' | 'optional';

export type Verdict = 'ready' | 'ready-with-warnings' | 'not-ready' | 'unknown';

export interface Check {
  /** Stable id, documented in docs/doctor.md; never renamed. */
  id: string;
  title: string;
  status: CheckStatus;
  severity: Severity;
  /** What was found, in one sentence. */
  summary: string;
  /** What was read: paths relative to the probed root, or pseudo-sources such as `uname`. */
  evidence: readonly string[];
  /** What to do; present on every check that did not pass. */
  hint?: string;
}

export interface Report {
  schemaVersion: 1;
  subject: 'host' | 'app';
  verdict: Verdict;
  checks: Check[];
  summary: Record<CheckStatus, number>;
  /** Free-form facts about what was examined (root, kernel, user …), for humans and logs. */
  context: Record<string, string>;
}

/**
 * A required failure wins over an unevaluated required check: what is known to be broken is
 * reported as broken (exit 1) rather than "could not tell" (exit 3). A failing recommended or
 * optional check only warns.
 */
export function verdictOf(checks: readonly Check[]): Verdict {
  const required = checks.filter((c) => c.severity === 'required');
  if (required.some((c) => c.status === 'fail')) return 'not-ready';
  if (required.some((c) => c.status === 'unknown')) return 'unknown';
  if (checks.some((c) => c.status === 'warn' || c.status === 'fail')) return 'ready-with-warnings';
  return 'ready';
}

export function summarize(checks: readonly Check[]): Record<CheckStatus, number> {
  const counts = Object.fromEntries(CHECK_STATUSES.map((s) => [s, 0])) as Record<
    CheckStatus,
    number
  >;
  for (const check of checks) counts[check.status] += 1;
  return counts;
}

export function createReport(options: {
  subject: Report['subject'];
  checks: Check[];
  context?: Record<string, string>;
}): Report {
  return {
    schemaVersion: 1,
    subject: options.subject,
    verdict: verdictOf(options.checks),
    checks: options.checks,
    summary: summarize(options.checks),
    context: options.context ?? {},
  };
}

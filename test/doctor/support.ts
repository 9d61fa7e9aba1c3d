import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { CHECK_STATUSES, type Check, type Report } from '../../src/doctor/report.ts';
import { HOST_CHECK_IDS } from '../../src/doctor/host/index.ts';
import { captureIo as captureAdminIo } from '../admin/support.ts';

export const fixtureRoot = (name: string) =>
  fileURLToPath(new URL(`./fixtures/${name}/`, import.meta.url));

export function checkOf(report: Report, id: string): Check {
  const check = report.checks.find((c) => c.id === id);
  assert.ok(check, `the report has no check ${id}`);
  return check;
}

/** What every report must satisfy, whatever the host. */
export function assertWellFormed(report: Report): void {
  assert.deepEqual(
    report.checks.map((c) => c.id),
    [...HOST_CHECK_IDS],
  );
  for (const check of report.checks) {
    assert.ok(CHECK_STATUSES.includes(check.status), `${check.id}: status ${check.status}`);
    assert.ok(check.summary.trim().length > 0, `${check.id} has no summary`);
    if (check.status !== 'pass') {
      assert.ok(
        check.hint && check.hint.trim().length > 0,
        `${check.id} (${check.status}) has no hint`,
      );
    }
    if (check.status !== 'skip') {
      assert.ok(check.evidence.length > 0, `${check.id} names no evidence`);
    }
  }
  const total = Object.values(report.summary).reduce((a, b) => a + b, 0);
  assert.equal(total, report.checks.length);
}

/** Collects what a command writes, in place of process.stdout/stderr. */
export function captureIo(options: { isTTY?: boolean; env?: Record<string, string> } = {}) {
  const captured = captureAdminIo({ tty: options.isTTY === true });
  return { ...captured, io: { ...captured.io, env: options.env ?? {} } };
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderJson, renderText } from '../../src/doctor/render.ts';
import { exitCodeOf } from '../../src/admin/doctor.ts';
import {
  createReport,
  verdictOf,
  type Check,
  type CheckStatus,
  type Severity,
} from '../../src/doctor/report.ts';

const check = (status: CheckStatus, severity: Severity = 'required'): Check => ({
  id: `x.${status}.${severity}`,
  title: 't',
  status,
  severity,
  summary: 's',
  evidence: ['e'],
  ...(status === 'pass' ? {} : { hint: 'h' }),
});

describe('doctor report', () => {
  it('unit — when every check passes or informs, then the verdict is ready and exits 0', () => {
    const checks = [check('pass'), check('info', 'optional'), check('skip', 'optional')];
    assert.equal(verdictOf(checks), 'ready');
    assert.equal(exitCodeOf('ready', { strict: true }), 0);
  });

  it('unit — when a check warns or a non-required one fails, then ready with warnings: 0, or 2 under --strict', () => {
    for (const extra of [
      check('warn', 'recommended'),
      check('fail', 'recommended'),
      check('fail', 'optional'),
    ]) {
      assert.equal(verdictOf([check('pass'), extra]), 'ready-with-warnings');
    }
    assert.equal(exitCodeOf('ready-with-warnings'), 0);
    assert.equal(exitCodeOf('ready-with-warnings', { strict: true }), 2);
  });

  it('unit — when a required check fails, then not ready (exit 1) even if another is unknown', () => {
    assert.equal(verdictOf([check('unknown'), check('fail')]), 'not-ready');
    assert.equal(exitCodeOf('not-ready'), 1);
  });

  it('unit — when a required check is unknown, then the verdict is unknown (exit 3); an optional one does not count', () => {
    assert.equal(verdictOf([check('pass'), check('unknown')]), 'unknown');
    assert.equal(exitCodeOf('unknown'), 3);
    assert.equal(verdictOf([check('pass'), check('unknown', 'optional')]), 'ready');
  });

  it('unit — when a report is created, then the summary counts every status', () => {
    const report = createReport({
      subject: 'app',
      checks: [check('pass'), check('warn', 'recommended')],
    });
    assert.deepEqual(report.summary, { pass: 1, warn: 1, fail: 0, info: 0, skip: 0, unknown: 0 });
    assert.equal(report.schemaVersion, 1);
    assert.deepEqual(JSON.parse(renderJson(report)), report);
  });

  it('unit — when rendered as text, then a passing check shows no hint and a failing one does', () => {
    const report = createReport({
      subject: 'host',
      checks: [{ ...check('pass'), hint: 'never shown' }, check('fail')],
    });
    const text = renderText(report, { color: false, title: 'doctor' });
    assert.ok(!text.includes('never shown'));
    assert.match(text, /^FAIL {2}x\.fail\.required {2}s -> h$/m);
    assert.match(text, /^verdict: NOT ready/m);
  });
});

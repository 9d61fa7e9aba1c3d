import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createHostProbe, runHostChecks } from '../../src/doctor/host/index.ts';
import { exitCodeOf } from '../../src/admin/doctor.ts';
import {
  type Check,
  type CheckStatus,
  type Report,
  type Verdict,
} from '../../src/doctor/report.ts';
import { assertWellFormed, checkOf, fixtureRoot } from './support.ts';

export interface Scenario {
  fixture: string;
  when: string;
  verdict: Verdict;
  /** Expected status per check id; unlisted checks are only held to the general rules. */
  checks: Record<string, CheckStatus>;
  /** Patterns the hint (or, with a `summary:` prefix, the summary) of a check must match. */
  texts?: Record<string, RegExp>;
  /** Exact hints (or, with a `summary:` prefix, summaries): what an admin reads, word for word. */
  exact?: Record<string, string>;
  probe?: boolean;
}

const EXIT: Record<Verdict, number> = {
  ready: 0,
  'ready-with-warnings': 0,
  'not-ready': 1,
  unknown: 3,
};

/** `id` names a check's hint, `summary:id` its summary. */
function fieldOf(report: Report, key: string): readonly ['hint' | 'summary', Check] {
  return key.startsWith('summary:')
    ? (['summary', checkOf(report, key.slice('summary:'.length))] as const)
    : (['hint', checkOf(report, key)] as const);
}

/** One test per scenario: the verdict, the exit code, each listed status, hints on every non-pass. */
export function itChecksScenario(scenario: Scenario): void {
  it(`unit — when ${scenario.when}, then the verdict is ${scenario.verdict} (exit ${EXIT[scenario.verdict]})`, () => {
    const probe = createHostProbe({ root: fixtureRoot(scenario.fixture) });
    const report = runHostChecks(probe, { probe: scenario.probe === true });
    assertWellFormed(report);
    assert.equal(report.verdict, scenario.verdict);
    assert.equal(exitCodeOf(report.verdict), EXIT[scenario.verdict]);
    for (const [id, status] of Object.entries(scenario.checks)) {
      const check = checkOf(report, id);
      assert.equal(check.status, status, `${id}: ${check.summary}`);
    }
    for (const [key, pattern] of Object.entries(scenario.texts ?? {})) {
      const [field, check] = fieldOf(report, key);
      assert.match(check[field] ?? '', pattern, `${check.id} ${field}`);
    }
    for (const [key, text] of Object.entries(scenario.exact ?? {})) {
      const [field, check] = fieldOf(report, key);
      assert.equal(check[field], text, `${check.id} ${field}`);
    }
  });
}

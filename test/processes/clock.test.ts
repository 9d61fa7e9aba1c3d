import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnProcess } from '../support/web-process.ts';
import { eventStores, workerEnv } from './worker-support.ts';

for (const [kind, open] of await eventStores()) {
  test(`clock (${kind}) — when two clocks run the same schedules, then each tick of each job runs exactly once`, async (t) => {
    const { url, users, store } = await open(t);
    await users.create({ name: 'purged once settled' });
    const env = workerEnv(url, [], {
      CLOCK_PURGE_CRON: '* * * * * *',
      CLOCK_REPORT_CRON: '* * * * * *',
      EVENT_RETENTION_MS: '60000',
      LOG_LEVEL: 'debug',
    });
    const clocks = [
      spawnProcess('src/processes/clock.ts', env),
      spawnProcess('src/processes/clock.ts', env),
    ];
    t.after(() => clocks.forEach((c) => c.kill()));
    const readies = await Promise.all(
      clocks.map((c) => c.waitForLine((l) => l.msg === 'clock ready')),
    );
    const done = () => clocks.flatMap((c) => c.lines.filter((l) => l.msg === 'job done'));
    const skipped = () =>
      clocks.flatMap((c) => c.lines.filter((l) => l.msg === 'tick claimed by another clock'));
    // Every tick runs on one clock and is skipped by the other; on a busy machine a clock can
    // start late, so wait for the skips rather than for a number of seconds.
    await clocks[0]!.waitForLine(
      () => done().filter((l) => l.job === 'report').length >= 3 && skipped().length >= 3,
      30_000,
    );
    // The gauges are set by whichever clock ran a report; under load one clock can win every tick.
    const reporter = clocks.findIndex((c) =>
      c.lines.some((l) => l.msg === 'job done' && l.job === 'report'),
    );
    const metrics = await (
      await fetch(`http://127.0.0.1:${readies[reporter]!.opsPort as number}/metrics`)
    ).text();
    for (const clock of clocks) clock.child.kill('SIGTERM');
    for (const clock of clocks) assert.deepEqual(await clock.exited, { code: 0, signal: null });

    const runs = done().map((l) => `${l.job as string} ${l.tick as string}`);
    assert.deepEqual(
      runs.filter((run, i) => runs.indexOf(run) !== i),
      [],
      'no tick ran twice',
    );
    assert.ok(skipped().length >= 3, 'the other clock saw every tick taken');
    const report = done().find((l) => l.job === 'report');
    assert.deepEqual(
      [report?.unfannedEvents, report?.deadLetters, typeof report?.lagSeconds],
      [1, 0, 'number'],
    );
    assert.match(metrics, /outbox_unfanned_events 1/);
    assert.match(metrics, /clock_job_runs_total\{job="report",outcome="(ok|skipped)"\} \d+/);
    // Younger than the retention, so no purge took it.
    assert.equal((await store.outbox.stats()).unfannedEvents, 1);
  });
}

test('clock — when a cron expression is invalid, then the process refuses to start with exit 1', async (t) => {
  const clock = spawnProcess('src/processes/clock.ts', {
    CLOCK_PURGE_CRON: 'hourly',
    CLOCK_PORT: '0',
  });
  t.after(() => clock.kill());
  assert.deepEqual(await clock.exited, { code: 1, signal: null });
  assert.ok(clock.lines.some((l) => /CLOCK_PURGE_CRON/.test(JSON.stringify(l))));
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { runAdmin } from '../admin/support.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { spawnProcess } from '../support/web-process.ts';

async function setUp(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), '12f-spans-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const otlp = await new OtlpReceiver().start();
  t.after(() => otlp.stop());
  const env = {
    DATABASE_URL: `sqlite:${join(dir, 'app.db')}`,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  };
  return { otlp, env };
}

describe('telemetry process spans', () => {
  test('an admin command is one span, exported before the command exits', async (t) => {
    const { otlp, env } = await setUp(t);
    const run = await runAdmin(['migrate'], { env });
    assert.equal(run.code, 0, run.stderr);
    // Already there: the command flushed its spans before exiting.
    const span = otlp.spans.find((s) => s.name === 'admin migrate');
    assert.ok(span, `received: ${otlp.spans.map((s) => s.name).join(', ')}`);
    assert.equal(span.parentSpanId, undefined, 'a trace of its own');
    assert.equal(span.attributes['admin.command'], 'migrate');
    assert.equal(span.resource['process.command'], 'admin');
  });

  test('each clock tick is one span, and the job’s log line carries its ids', async (t) => {
    const { otlp, env } = await setUp(t);
    assert.equal((await runAdmin(['migrate'], { env })).code, 0);
    const clock = spawnProcess('src/processes/clock.ts', {
      ...env,
      CLOCK_PORT: '0',
      HOST: '127.0.0.1',
      CLOCK_REPORT_CRON: '* * * * * *',
    });
    t.after(() => clock.kill());
    const span = await otlp.waitForSpan((s) => s.name === 'clock report');
    assert.equal(span.attributes['clock.job'], 'report');
    assert.equal(span.resource['process.command'], 'clock');
    const done = await clock.waitForLine(
      (l) => l.msg === 'job done' && l.job === 'report' && l.tick === span.attributes['clock.tick'],
    );
    assert.equal(done.trace_id, span.traceId);
    assert.equal(done.span_id, span.spanId);
    clock.child.kill('SIGTERM');
    assert.deepEqual(await clock.exited, { code: 0, signal: null });
  });
});

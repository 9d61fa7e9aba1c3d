import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { runAdminCommand, type AdminIo } from '../../src/admin/command.ts';
import { doctorHostCommand } from '../../src/admin/doctor.ts';
import { HOST_CHECK_IDS } from '../../src/doctor/host/index.ts';
import { captureIo, fixtureRoot } from '../doctor/support.ts';

const ESC = '\u001b[';
const STATUS_LINE = /^(PASS|WARN|FAIL|INFO|SKIP|\?\?\?\?) {2}\S+/;

/** As the admin entry runs it; the doctor opens no shared context. */
const runDoctorHost = (argv: string[], io: AdminIo) =>
  runAdminCommand(doctorHostCommand, argv, io, () =>
    assert.fail('doctor host opens no shared context'),
  );

describe('doctor host command line', () => {
  it('unit — when run on a ready host, then it prints one line per check and the verdict, exit 0', async () => {
    const out = captureIo();
    const code = await runDoctorHost(['--root', fixtureRoot('intel-bare-metal')], out.io);
    assert.equal(code, 0);
    const lines = out.stdout().trimEnd().split('\n');
    assert.equal(lines.filter((l) => STATUS_LINE.test(l)).length, HOST_CHECK_IDS.length);
    assert.match(lines.at(-1) ?? '', /^verdict: ready \(/);
    assert.equal(out.stderr(), '');
  });

  it('unit — when a check does not pass, then its line carries the hint', async () => {
    const out = captureIo();
    const code = await runDoctorHost(['--root', fixtureRoot('user-not-in-kvm-group')], out.io);
    assert.equal(code, 1);
    assert.match(out.stdout(), /^FAIL {2}kvm\.device\.access .* -> sudo usermod -aG kvm alice/m);
  });

  it('unit — when stdout is a terminal, then statuses are coloured', async () => {
    const out = captureIo({ isTTY: true });
    await runDoctorHost(['--root', fixtureRoot('intel-bare-metal')], out.io);
    assert.ok(out.stdout().includes(`${ESC}32mPASS`));
  });

  it('unit — when NO_COLOR is set or --no-color is given, then nothing is coloured even on a terminal', async () => {
    for (const [argv, env] of [
      [[], { NO_COLOR: '1' }],
      [['--no-color'], {}],
    ] as const) {
      const out = captureIo({ isTTY: true, env });
      await runDoctorHost([...argv, '--root', fixtureRoot('intel-bare-metal')], out.io);
      assert.ok(!out.stdout().includes(ESC), `coloured with ${JSON.stringify({ argv, env })}`);
    }
  });

  it('unit — when stdout is not a terminal, then nothing is coloured', async () => {
    const out = captureIo({ isTTY: false });
    await runDoctorHost(['--root', fixtureRoot('firecracker-guest')], out.io);
    assert.ok(!out.stdout().includes(ESC));
  });

  it('unit — when --json is given, then the report has the documented fields', async () => {
    const out = captureIo({ isTTY: true });
    const code = await runDoctorHost(
      ['--json', '--root', fixtureRoot('firecracker-guest')],
      out.io,
    );
    assert.equal(code, 0);
    const report = JSON.parse(out.stdout());
    assert.equal(report.schemaVersion, 1);
    assert.equal(report.subject, 'host');
    assert.equal(report.verdict, 'ready-with-warnings');
    assert.deepEqual(Object.keys(report.summary).sort(), [
      'fail',
      'info',
      'pass',
      'skip',
      'unknown',
      'warn',
    ]);
    assert.deepEqual(
      report.checks.map((c: { id: string }) => c.id),
      [...HOST_CHECK_IDS],
    );
    for (const check of report.checks) {
      assert.deepEqual(
        Object.keys(check)
          .filter((k) => k !== 'hint')
          .sort(),
        ['evidence', 'id', 'severity', 'status', 'summary', 'title'],
      );
    }
    assert.equal(report.context.kernel, '6.18.44-fc-v669');
  });

  it('unit — when --strict is given and the host has warnings, then it exits 2', async () => {
    const out = captureIo();
    assert.equal(
      await runDoctorHost(['--strict', '--root', fixtureRoot('firecracker-guest')], out.io),
      2,
    );
    assert.equal(
      await runDoctorHost(['--strict', '--root', fixtureRoot('intel-bare-metal')], out.io),
      0,
    );
  });

  it('unit — when a required check cannot be evaluated, then it exits 3', async () => {
    const out = captureIo();
    assert.equal(await runDoctorHost(['--root', fixtureRoot('unparseable-kernel')], out.io), 3);
  });

  it('unit — when the arguments are wrong, then it prints the usage on stderr and exits 64', async () => {
    for (const argv of [
      ['--bogus'],
      ['extra'],
      ['--root'],
      ['--root', '/nonexistent/doctor-root'],
    ]) {
      const out = captureIo();
      assert.equal(await runDoctorHost(argv, out.io), 64, JSON.stringify(argv));
      assert.match(out.stderr(), /Usage: admin doctor host/);
      assert.equal(out.stdout(), '');
    }
  });

  it('unit — when --help is given, then the usage goes to stdout with exit 0', async () => {
    const out = captureIo();
    assert.equal(await runDoctorHost(['--help'], out.io), 0);
    assert.match(out.stdout(), /--probe/);
  });
});

describe('admin entry point', () => {
  const admin = fileURLToPath(new URL('../../src/processes/admin.ts', import.meta.url));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [admin, ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });

  it('unit — when `doctor host` is dispatched, then its exit code becomes the process exit code', () => {
    const ready = run('doctor', 'host', '--json', '--root', fixtureRoot('intel-bare-metal'));
    assert.equal(ready.status, 0, ready.stderr);
    assert.equal(JSON.parse(ready.stdout).verdict, 'ready');
    assert.equal(run('doctor', 'host', '--root', fixtureRoot('wsl2')).status, 1);
  });

  it('unit — when the command is unknown or missing, then usage goes to stderr with exit 64', () => {
    for (const args of [['frobnicate'], []]) {
      const result = run(...args);
      assert.equal(result.status, 64, JSON.stringify(args));
      assert.match(result.stderr, /Usage: admin <command>/);
    }
    // `doctor` alone names its own subcommands.
    const doctor = run('doctor');
    assert.equal(doctor.status, 64);
    assert.match(doctor.stderr, /Usage: admin doctor <host\|app>/);
  });
});

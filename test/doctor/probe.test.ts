import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createHostProbe } from '../../src/doctor/host/probe.ts';
import { splitDevice } from '../../src/doctor/host/probe-system.ts';
import { fixtureRoot } from './support.ts';

describe('host probe', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'doctor-probe-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('unit — when a path does not exist, then every read answers undefined instead of throwing', () => {
    for (const root of [scratch, fixtureRoot('intel-bare-metal')]) {
      const probe = createHostProbe({ root });
      assert.equal(probe.readFile('/no/such/file'), undefined);
      assert.equal(probe.readBytes('/no/such/file', 16), undefined);
      assert.equal(probe.listDir('/no/such/dir'), undefined);
      assert.equal(probe.stat('/no/such/node'), undefined);
      assert.deepEqual(probe.openReadWrite('/no/such/node'), { ok: false, code: 'ENOENT' });
      assert.equal(probe.which('no-such-program'), undefined);
    }
  });

  it('unit — when a file is a FIFO nobody writes to, then reading it returns at once', () => {
    mkdirSync(join(scratch, 'proc'), { recursive: true });
    const fifo = join(scratch, 'proc', 'fifo');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return;
    const probe = createHostProbe({ root: scratch });
    assert.equal(probe.readFile('/proc/fifo'), '');
    assert.equal(probe.stat('/proc/fifo')?.kind, 'fifo');
  });

  it('unit — when the root is this machine, then uname is the kernel’s and /dev/null is char 1:3', () => {
    const probe = createHostProbe({ root: '/', env: { PATH: process.env.PATH } });
    assert.equal(probe.uname().machine, machine());
    assert.deepEqual(
      { ...probe.stat('/dev/null'), mode: 0, uid: 0, gid: 0 },
      { kind: 'char', major: 1, minor: 3, mode: 0, uid: 0, gid: 0 },
    );
    assert.deepEqual(probe.openReadWrite('/dev/null'), { ok: true });
    assert.ok(probe.which('sh')?.endsWith('/sh'));
  });

  it('unit — when a dev_t has large numbers, then major and minor split like glibc', () => {
    const makedev = (major: bigint, minor: bigint) =>
      ((major & 0xfffn) << 8n) |
      ((major & ~0xfffn) << 32n) |
      (minor & 0xffn) |
      ((minor & ~0xffn) << 12n);
    assert.deepEqual(splitDevice(makedev(10n, 232n)), { major: 10, minor: 232 });
    assert.deepEqual(splitDevice(makedev(4095n + 1n, 1048575n)), { major: 4096, minor: 1048575 });
  });

  it('unit — when a fixture extends another, then files, metadata and hidden paths combine', () => {
    const probe = createHostProbe({ root: fixtureRoot('firecracker-guest-user') });
    assert.match(probe.readFile('/proc/cpuinfo') ?? '', /AuthenticAMD/);
    assert.equal(probe.readFile('/dev/kmsg'), undefined);
    assert.equal(probe.uname().release, '6.18.44-fc-v669');
    assert.equal(probe.identity().uid, 1000);
    assert.deepEqual(probe.openReadWrite('/dev/kvm'), { ok: false, code: 'EACCES' });
    assert.equal(probe.readFile('/host.json'), undefined);
  });

  it('unit — when the metadata is malformed, then the fixture probe falls back to safe defaults', () => {
    const root = join(scratch, 'bad');
    mkdirSync(root, { recursive: true });
    for (const text of [
      '{not json',
      '[]',
      '{"uname": {"machine": 64}, "nodes": {"/dev/kvm": 1}}',
    ]) {
      writeFileSync(join(root, 'host.json'), text);
      const probe = createHostProbe({ root });
      assert.deepEqual(probe.uname(), { sysname: '', machine: '', release: '' });
      assert.equal(probe.stat('/dev/kvm'), undefined);
      assert.equal(probe.identity().uid, 0);
    }
  });
});

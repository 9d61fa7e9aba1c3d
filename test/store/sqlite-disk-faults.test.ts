import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.ts';
import {
  fillDisk,
  inspectExt4,
  mountExt4,
  mountTmpfs,
  provisionJournal,
  triggerFsError,
  type Disk,
} from '../support/disks.ts';
import { Acknowledged, assertRefused } from './sqlite-fault-checks.ts';

/**
 * A web app on a SQLite file on the first of `disks`. After the test, whatever happened, the
 * app is closed and then the disks unmounted in order (nothing may hold a file on a disk when
 * it is unmounted, and no mount may outlive the test); `closeApp` closes it earlier, once.
 */
async function appOn(t: TestContext, file: string, disks: Disk[]) {
  const opened: { app?: TestApp; closing?: Promise<void> } = {};
  const closeApp = () => (opened.closing ??= opened.app?.close() ?? Promise.resolve());
  t.after(async () => {
    try {
      await closeApp();
    } finally {
      for (const disk of disks) disk.unmount();
    }
  });
  const app = (opened.app = await buildTestApp({ url: `sqlite:${file}` }));
  const ack = new Acknowledged();
  const inject = app.app.inject.bind(app.app);
  return {
    app,
    ack,
    closeApp,
    create: (name: string) => inject({ method: 'POST', url: '/user', payload: { name } }),
    rename: (id: string, name: string) =>
      inject({ method: 'PATCH', url: `/user/${id}`, payload: { name } }),
    remove: (id: string) => inject({ method: 'DELETE', url: `/user/${id}` }),
    status: async (url: string) => (await inject({ method: 'GET', url })).statusCode,
    total: async () =>
      (await inject({ method: 'GET', url: '/user?limit=1' })).headers['x-total-count'],
  };
}

/** A scratch directory on the host's disk, removed after the test. */
function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 't12f-faults-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('sqlite store on a failing disk', () => {
  test('when ext4 aborts its journal and turns read-only under the open file, then creates, updates and deletes get 503 STORE_UNAVAILABLE, the log says SQLITE_IOERR_WRITE, /readyz fails, reads still answer, and after fsck the file holds every acknowledged write and no refused one (the file system stays read-only, and writes stay refused)', async (t) => {
    const image = join(scratch(t), 'disk.img');
    const disk = mountExt4(t, image, 'errors=remount-ro');
    if (!disk) return;
    const s = await appOn(t, join(disk.dir, 'app.db'), [disk]);
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push(s.ack.created(await s.create(`user ${n}`)));
    s.ack.updated(await s.rename(ids[0]!, 'renamed'));
    s.ack.deleted(ids[1]!, await s.remove(ids[1]!));

    triggerFsError(disk.device);
    // EROFS on the WAL's write; SQLite reports it as SQLITE_IOERR_WRITE.
    const cause = /SQLITE_IOERR_WRITE/;
    assertRefused(s.app, await s.create('refused'), cause);
    assertRefused(s.app, await s.rename(ids[2]!, 'refused'), cause);
    assertRefused(s.app, await s.remove(ids[3]!), cause);
    assert.equal(await s.status('/readyz'), 503);
    assert.equal(await s.status('/healthz'), 200, 'the process lives on');
    assert.equal(await s.total(), String(s.ack.users.size), 'reads still answer');
    assert.equal(await s.status(`/user/${ids[0]}`), 200);
    // Still read-only a moment later: no write got through, readiness stays failed.
    assertRefused(s.app, await s.create('refused again'), cause);
    assert.equal(await s.status('/readyz'), 503);

    await s.closeApp();
    disk.unmount();
    inspectExt4(image, (dir) => s.ack.assertStored(join(dir, 'app.db')));
  });

  test('when the device under ext4 refuses writes (a thin loop device whose tmpfs is full), then the COMMIT fails at fsync, writes get 503 STORE_UNAVAILABLE, the log says SQLITE_IOERR_FSYNC, /readyz fails, and all comes back without a restart when the device has space again', async (t) => {
    const backing = mountTmpfs(t, 8);
    if (!backing) return;
    // A 64 MiB ext4 on an 8 MiB tmpfs: ext4 allocates blocks the device cannot store.
    const disk = mountExt4(t, join(backing.dir, 'disk.img'), 'errors=continue', provisionJournal);
    if (!disk) return backing.unmount();
    const s = await appOn(t, join(disk.dir, 'app.db'), [disk, backing]);
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push(s.ack.created(await s.create(`user ${n}`)));

    const filler = join(backing.dir, 'filler');
    assert.ok(fillDisk(filler) > 0);
    // ext4 still has free blocks, so the WAL's write succeeds into the page cache; the loop
    // device's write-back fails, and fsync reports it. Writes into WAL blocks already stored
    // would still succeed: they go on until one needs a new block.
    let refused: Awaited<ReturnType<typeof s.create>> | undefined;
    for (let n = 4; n < 200 && !refused; n++) {
      const res = await s.create(`user ${n}`);
      if (res.statusCode === 201) ids.push(s.ack.created(res));
      else refused = res;
    }
    assert.ok(refused, 'a create was refused once the device was full');
    const cause = /SQLITE_IOERR_FSYNC/;
    assertRefused(s.app, refused, cause);
    assertRefused(s.app, await s.rename(ids[0]!, 'refused'), cause);
    assertRefused(s.app, await s.remove(ids[1]!), cause);
    assert.equal(await s.status('/readyz'), 503);
    assert.equal(await s.status('/healthz'), 200, 'the process lives on');
    assert.equal(await s.total(), String(s.ack.users.size), 'reads still answer');

    rmSync(filler);
    assert.equal(await s.status('/readyz'), 200, 'ready again without a restart');
    s.ack.created(await s.create('after'));
    s.ack.updated(await s.rename(ids[0]!, 'renamed'));
    s.ack.deleted(ids[1]!, await s.remove(ids[1]!));

    await s.closeApp();
    disk.unmount();
    inspectExt4(disk.image, (dir) => s.ack.assertStored(join(dir, 'app.db')));
  });
});

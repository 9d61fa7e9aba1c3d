import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildTestApp } from '../support/app.ts';
import { fillDisk, mountTmpfs } from '../support/disks.ts';
import { Acknowledged, assertRefused } from './sqlite-fault-checks.ts';

describe('sqlite store', () => {
  // A real full disk: a 4 MiB tmpfs, filled by another file until the kernel answers ENOSPC,
  // then emptied again.
  test('when the disk fills, then creates get 503 STORE_UNAVAILABLE, the log says SQLITE_FULL, /readyz fails, and all comes back when space returns', async (t) => {
    const disk = mountTmpfs(t, 4);
    if (!disk) return;
    const { dir } = disk;
    const file = join(dir, 'app.db');
    const app = await buildTestApp({ url: `sqlite:${file}` }).catch((error: unknown) => {
      disk.unmount();
      throw error;
    });
    // One hook, in order: nothing may hold a file on the disk when it is unmounted.
    t.after(async () => {
      await app.close();
      disk.unmount();
    });
    const ack = new Acknowledged();
    const create = (n: number) =>
      app.app.inject({ method: 'POST', url: '/user', payload: { name: `user ${n}` } });
    for (let n = 0; n < 5; n++) ack.created(await create(n));

    const filler = join(dir, 'filler');
    assert.ok(fillDisk(filler) > 0);
    // The WAL may still hold free frames: writes succeed until it must grow.
    let refused: Awaited<ReturnType<typeof create>> | undefined;
    for (let n = 5; n < 2000 && !refused; n++) {
      const res = await create(n);
      if (res.statusCode === 201) ack.created(res);
      else refused = res;
    }
    assert.ok(refused, 'a create was refused once the disk was full');
    assertRefused(app, refused, /SQLITE_FULL/);

    const notReady = await app.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(notReady.statusCode, 503, notReady.body);
    const live = await app.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(live.statusCode, 200, 'the process lives on');
    const list = await app.app.inject({ method: 'GET', url: '/user?limit=1' });
    assert.equal(list.statusCode, 200, 'reads still work');
    assert.equal(list.headers['x-total-count'], String(ack.users.size), 'nothing half-written');

    rmSync(filler);
    const ready = await app.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    ack.created(await create(9999));
    ack.assertStored(file);
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { buildTestApp } from '../support/app.ts';

/**
 * A real full disk: a 4 MiB tmpfs (mounting needs root; elsewhere the test says why it cannot
 * run), filled by another file until the kernel answers ENOSPC, then emptied again.
 */
function mountSmallDisk(t: TestContext): { dir: string; unmount: () => void } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 't12f-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmdirSync(dir);
    t.skip(`cannot mount a tmpfs here (${String(error).split('\n')[0]}); needs root`);
    return undefined;
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir]);
      rmdirSync(dir);
    },
  };
}

/** Writes `path` until the file system is full; answers how many bytes fit. */
function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  return written;
}

describe('sqlite store', () => {
  test('when the disk fills, then creates get 503 STORE_UNAVAILABLE, the log says SQLITE_FULL, /readyz fails, and all comes back when space returns', async (t) => {
    const disk = mountSmallDisk(t);
    if (!disk) return;
    const { dir } = disk;
    const file = join(dir, 'app.db');
    const app = await buildTestApp({ url: `sqlite:${file}` }).catch((error: unknown) => {
      disk.unmount();
      throw error;
    });
    let db: Database.Database | undefined;
    // One hook, in order: nothing may hold a file on the disk when it is unmounted.
    t.after(async () => {
      db?.close();
      await app.close();
      disk.unmount();
    });
    const create = (n: number) =>
      app.app.inject({ method: 'POST', url: '/user', payload: { name: `user ${n}` } });
    for (let n = 0; n < 5; n++) assert.equal((await create(n)).statusCode, 201);

    const filler = join(dir, 'filler');
    assert.ok(fillDisk(filler) > 0);
    // The WAL may still hold free frames: writes succeed until it must grow.
    let created = 5;
    let refused: Awaited<ReturnType<typeof create>> | undefined;
    for (let n = 5; n < 2000 && !refused; n++) {
      const res = await create(n);
      if (res.statusCode === 201) created++;
      else refused = res;
    }
    assert.ok(refused, 'a create was refused once the disk was full');
    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.headers['retry-after'], '5');
    assert.equal(refused.json().code, 'STORE_UNAVAILABLE');
    assert.doesNotMatch(refused.body, /SQLITE|rollback/i);
    const logged = JSON.stringify(app.logs.filter((line) => line.code === 'STORE_UNAVAILABLE'));
    assert.match(logged, /SQLITE_FULL/, 'the log carries the real cause');
    assert.doesNotMatch(JSON.stringify(app.logs), /cannot rollback/);

    const notReady = await app.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(notReady.statusCode, 503, notReady.body);
    const list = await app.app.inject({ method: 'GET', url: '/user?limit=1' });
    assert.equal(list.statusCode, 200, 'reads still work');
    assert.equal(list.headers['x-total-count'], String(created), 'nothing half-written');

    rmSync(filler);
    const ready = await app.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.equal((await create(9999)).statusCode, 201, 'writes work again without a restart');
    created++;

    const check = (db = new Database(file, { readonly: true }));
    assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    const count = (sql: string) => (check.prepare(sql).get() as { n: number }).n;
    assert.equal(count('select count(*) as n from users'), created);
    assert.equal(
      count(`select count(*) as n from outbox_events where type = 'user.created'`),
      created,
      'every user has its event and no event lacks its user',
    );
  });
});

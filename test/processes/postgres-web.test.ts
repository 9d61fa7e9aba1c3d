import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildTestApp } from '../support/app.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { spawnProcess, startWeb } from '../support/web-process.ts';

const run = promisify(execFile);
const availability = await postgresAvailability();

if (availability.reachable) {
  test('web on PostgreSQL — when the schema is behind the code, then it refuses to serve until migrated', async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const env = { DATABASE_URL: database.url };

    const refused = spawnProcess('src/processes/web.ts', { PORT: '0', HOST: '127.0.0.1', ...env });
    assert.equal((await refused.exited).code, 1);
    const fatal = refused.lines.find((l) => l.level === 'fatal');
    assert.match(JSON.stringify(fatal), /npm run migrate/);

    const migrate = () =>
      run(process.execPath, ['src/processes/admin.ts', 'migrate'], {
        env: { PATH: process.env.PATH, ...env },
      });
    const first = await migrate();
    assert.match(first.stdout, /migrate: applied/);
    const [a, b] = await Promise.all([migrate(), migrate()]);
    assert.match(a.stdout + b.stdout, /schema already current/);

    const web = await startWeb(env);
    t.after(() => web.kill());
    const res = await fetch(`http://127.0.0.1:${web.port}/user?name=bingo`, { method: 'POST' });
    assert.equal(res.status, 201);
    web.child.kill('SIGTERM');
    assert.equal((await web.exited).code, 0);
  });

  test('web on PostgreSQL — when the store goes away and returns, then 503s meanwhile and recovery by itself', async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const target = new URL(database.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    t.after(() => proxy.close());
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const app = await buildTestApp({ url: viaProxy.toString() });
    t.after(() => app.close());

    const created = await app.app.inject({
      method: 'POST',
      url: '/user',
      payload: { name: 'before' },
    });
    assert.equal(created.statusCode, 201);
    const id = created.json().id;

    proxy.cut();
    const read = await app.app.inject({ method: 'GET', url: `/user/${id}` });
    assert.equal(read.statusCode, 503);
    assert.equal(read.json().code, 'STORE_UNAVAILABLE');
    assert.equal(read.headers['retry-after'], '5');
    const write = await app.app.inject({
      method: 'POST',
      url: '/user',
      payload: { name: 'during' },
    });
    assert.equal(write.statusCode, 503);
    assert.equal((await app.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
    assert.equal((await app.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);

    proxy.restore();
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await app.app.inject({ method: 'GET', url: `/user/${id}` })).statusCode;
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 200, 'recovered without a restart');
    assert.equal((await app.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    const all = (await app.app.inject({ method: 'GET', url: '/user' })).json();
    assert.deepEqual(
      all.map((u: { name: string }) => u.name),
      ['before'],
      'the acknowledged write survived and the refused one left nothing',
    );
  });

  test('web on PostgreSQL — when a page is listed, then its body is byte for byte the records as the API prints each, with the headers of any JSON answer', async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const app = await buildTestApp({ url: database.url });
    t.after(() => app.close());
    const names = ['bingo', 'q"uote \\back é 😀 \u2028 /', 'no mail'];
    const ids: string[] = [];
    for (const [i, name] of names.entries()) {
      const payload = i === 2 ? { name } : { name, email: `u${i}@example.com` };
      const created = await app.app.inject({ method: 'POST', url: '/user', payload });
      assert.equal(created.statusCode, 201);
      ids.push(created.json().id);
    }
    const records = await Promise.all(
      ids.map((id) => app.app.inject({ method: 'GET', url: `/user/${id}` })),
    );
    const list = await app.app.inject({ method: 'GET', url: '/user?limit=2&sort=name%20DESC' });
    assert.equal(list.statusCode, 200);
    // name DESC in byte order: q"uote…, no mail, bingo; the first two.
    assert.equal(list.body, `[${records[1]!.body},${records[2]!.body}]`);
    assert.equal(list.headers['content-type'], records[0]!.headers['content-type']);
    assert.equal(list.headers['content-length'], String(Buffer.byteLength(list.body)));
    assert.equal(list.headers['x-total-count'], '3');
    assert.match(String(list.headers.link), /rel="next"/);
    const head = await app.app.inject({ method: 'HEAD', url: '/user?limit=2&sort=name%20DESC' });
    assert.equal(head.headers['content-length'], list.headers['content-length']);
  });
}

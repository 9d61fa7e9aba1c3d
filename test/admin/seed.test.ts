import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { EXIT, runAdminCommand } from '../../src/admin/command.ts';
import { seedCommand } from '../../src/admin/seed.ts';
import { seedUser } from '../../src/admin/seed-users.ts';
import { emailKey, isPrintable, isUserId } from '../../src/users/user.ts';
import type { User } from '../../src/users/user.ts';
import { userRecord } from '../../src/store/user-records.ts';
import { captureIo, openTestContext, tempDir } from './support.ts';

async function all(users: AsyncIterable<User>): Promise<User[]> {
  const out: User[] = [];
  for await (const user of users) out.push(user);
  return out;
}

/** `admin seed <argv>` on the store at `url`, its output caught in `out`: the exit code. */
function seedInto(t: TestContext, url: string, argv: string[], out: ReturnType<typeof captureIo>) {
  return runAdminCommand(seedCommand, argv, out.io, (io) => openTestContext(t, url, io));
}

describe('admin seed', () => {
  test('when users are generated, then they are valid, realistic, in id order and the same for the same seed', () => {
    const users = Array.from({ length: 6000 }, (_, i) => seedUser(7, i));
    assert.deepEqual(seedUser(7, 4321), users[4321]);
    assert.notDeepEqual(seedUser(8, 0), users[0]);
    const keys = new Set<string>();
    for (const [i, user] of users.entries()) {
      assert.ok(isUserId(user.id), user.id);
      assert.ok(isPrintable(user.name) && /^\S.* \S+$/u.test(user.name), user.name);
      assert.ok(user.updatedAt >= user.createdAt);
      assert.equal(
        Number.parseInt(user.id.slice(0, 8), 16),
        Math.floor(Date.parse(user.createdAt) / 1000),
      );
      if (i > 0) assert.ok(user.id > users[i - 1]!.id, 'ids increase with creation');
      if (user.email === undefined) continue;
      assert.match(user.email, /^[a-z]+\.[a-z]+\d*@[a-z.]+$/);
      assert.ok(!keys.has(emailKey(user.email)), `${user.email} twice`);
      keys.add(emailKey(user.email));
    }
    assert.ok(keys.size > 4500 && keys.size < 5500, 'about 15 % have no address');
    assert.ok(
      users.some((u) => /[^ -~]/.test(u.name)),
      'some names are not ASCII',
    );
  });

  test('when seed fills an empty store, then it writes --count users and prints a summary', async (t) => {
    const url = `sqlite:${join(tempDir(t), 'app.db')}`;
    const out = captureIo();
    const code = await seedInto(t, url, ['--count', '250', '--seed', '3'], out);
    assert.equal(code, EXIT.ok);
    assert.match(
      out.stdout(),
      /^seed: 250 users created \(seed 3, 250 in the store\) in [\d.]+ s, peak RSS \d+ MB\n$/,
    );
    const users = await all((await openTestContext(t, url)).users.stream());
    assert.equal(users.length, 250);
    assert.deepEqual(users[17], userRecord(seedUser(3, 17, { total: 250 })));
  });

  test('when the store is not empty, then seed refuses with exit 1 unless --force, which adds new users', async (t) => {
    const context = await openTestContext(t, 'sqlite::memory:');
    await context.store.migrate();
    const first = captureIo();
    assert.equal(
      await seedCommand.run({ ...context, io: first.io }, seedCommand.parse(['--count', '100'])),
      EXIT.ok,
    );
    const refused = captureIo();
    assert.equal(
      await seedCommand.run({ ...context, io: refused.io }, seedCommand.parse(['--count', '100'])),
      EXIT.failure,
    );
    assert.match(refused.stderr(), /already holds 100 users; add --force/);
    assert.equal(await context.users.count(), 100);
    const forced = captureIo();
    assert.equal(
      await seedCommand.run(
        { ...context, io: forced.io },
        seedCommand.parse(['--count', '100', '--force']),
      ),
      EXIT.ok,
    );
    assert.match(forced.stdout(), /^seed: 100 users created \(seed 1, 200 in the store\)/);
    assert.equal(await context.users.count(), 200);
  });

  test('when seed options are wrong, then parse reports a usage error', () => {
    for (const argv of [
      ['--count', '0'],
      ['--count', 'ten'],
      ['--seed', '-1'],
      ['--batch-size', '20000'],
      ['--what'],
    ]) {
      assert.throws(() => seedCommand.parse(argv), { name: 'UsageError' }, argv.join(' '));
    }
    assert.deepEqual(seedCommand.parse([]), {
      count: 100,
      seed: 1,
      force: false,
      batchSize: 2000,
      events: true,
    });
    assert.equal(seedCommand.parse(['--no-events']).events, false);
  });

  test('when 1,029 users are seeded, then their timestamps spread over every month of 2024', async (t) => {
    const url = `sqlite:${join(tempDir(t), 'app.db')}`;
    const out = captureIo();
    const code = await seedInto(t, url, ['--count', '1029', '--seed', '9'], out);
    assert.equal(code, EXIT.ok);
    const users = await all((await openTestContext(t, url)).users.stream());
    assert.equal(users.length, 1029);
    const months = new Set<string>();
    for (const user of users) {
      for (const stamp of [user.createdAt, user.updatedAt]) {
        assert.ok(stamp >= '2024-01-01T00:00:00.000Z' && stamp < '2025-01-01T00:00:00.000Z', stamp);
      }
      months.add(user.createdAt.slice(0, 7));
    }
    assert.equal(months.size, 12, [...months].join(' '));
  });

  test('when the store holds one user, then seed says "1 user", not "1 users"', async (t) => {
    const url = `sqlite:${join(tempDir(t), 'app.db')}`;
    const first = captureIo();
    const seed = (argv: string[], out: ReturnType<typeof captureIo>) => seedInto(t, url, argv, out);
    assert.equal(await seed(['--count', '1'], first), EXIT.ok);
    assert.match(first.stdout(), /^seed: 1 user created /);
    const again = captureIo();
    assert.equal(await seed(['--count', '1'], again), EXIT.failure);
    assert.match(again.stderr(), /already holds 1 user; add --force/);
  });
});

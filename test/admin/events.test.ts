import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { eventsCommand } from '../../src/admin/events.ts';
import { runAdminCommand, type AdminIo } from '../../src/admin/command.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createStore } from '../../src/store/index.ts';
import { UserService } from '../../src/users/user-service.ts';
import type { UserStore } from '../../src/users/user-store.ts';

const HOOK = 'http://127.0.0.1:1/hook?token=secret';

function sink(): Writable & { text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return Object.assign(stream, { text: () => text });
}

/** A store with three events: user 1 created (a dead letter) and renamed, user 2 created. */
async function outboxWithDeadLetter(t: TestContext): Promise<UserStore> {
  const store = await createStore({
    url: 'sqlite::memory:',
    poolMax: 1,
    connectTimeoutMs: 1000,
    statementTimeoutMs: 5000,
  });
  t.after(() => store.close());
  await store.migrate();
  const users = new UserService({ store });
  const first = await users.create({ name: 'first' });
  await users.update(first.id, { name: 'renamed' });
  await users.create({ name: 'second' });
  const now = new Date().toISOString();
  await store.outbox.fanOut({ endpoints: [HOOK], now, limit: 10 });
  const [head] = await store.outbox.claim({
    endpoint: HOOK,
    owner: 'w',
    limit: 1,
    now,
    leaseMs: 1000,
  });
  await store.outbox.fail(
    { endpoint: HOOK, sequence: head!.event.sequence },
    { owner: 'w', error: 'HTTP 410', retryAt: undefined },
  );
  return store;
}

async function run(store: UserStore, argv: string[]) {
  const stdout = sink();
  const stderr = sink();
  const io: AdminIo = { stdin: new PassThrough(), stdout, stderr, env: {}, isTTY: false };
  const config = loadConfig({});
  const logger = createLogger({ level: 'silent', pretty: false, destination: sink() });
  // The store is the test's: a no-op close lets several commands share it.
  const shared = Object.assign(Object.create(store) as UserStore, { close: async () => undefined });
  const code = await runAdminCommand(eventsCommand, argv, io, async () => ({
    config,
    logger,
    store: shared,
    users: new UserService({ store: shared }),
    io,
  }));
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

test('admin events — when listing dead letters, then each shows its endpoint without secrets, status and last error', async (t) => {
  const store = await outboxWithDeadLetter(t);
  const { code, stdout } = await run(store, ['list', '--status', 'dead']);
  assert.equal(code, 0);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(
    lines[1] ?? '',
    /\tuser\.created\t[0-9a-f]{24}\t.*\thttp:\/\/127\.0\.0\.1:1\/hook\tdead\t1\tHTTP 410$/,
  );
  assert.doesNotMatch(stdout, /token=secret/);
});

test('admin events — when listing as JSON with filters, then one object per event comes out', async (t) => {
  const store = await outboxWithDeadLetter(t);
  const { stdout } = await run(store, ['list', '--type', 'user.created', '--json']);
  const events = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    events.map((e) => [e.event.type, e.deliveries[0].status]),
    [
      ['user.created', 'dead'],
      ['user.created', 'pending'],
    ],
  );
  const after = await run(store, [
    'list',
    '--after',
    String(events[0].event.sequence),
    '--limit',
    '1',
    '--json',
  ]);
  assert.equal(JSON.parse(after.stdout).event.type, 'user.updated');
});

test('admin events — when dead letters are redelivered, then they are pending again', async (t) => {
  const store = await outboxWithDeadLetter(t);
  assert.match((await run(store, ['redeliver', '--all'])).stdout, /1 dead letter\(s\) queued/);
  assert.equal((await store.outbox.stats()).deadLetters, 0);
  assert.match((await run(store, ['redeliver', '--sequence', '1'])).stdout, /0 dead letter/);
});

test('admin events — when the command line is wrong, then it exits 64 naming the problem', async (t) => {
  const store = await outboxWithDeadLetter(t);
  const cases: [string[], RegExp][] = [
    [[], /list or redeliver/],
    [['redeliver'], /--sequence N or --all/],
    [['redeliver', '--all', '--sequence', '2'], /--sequence N or --all/],
    [['list', '--status', 'lost'], /--status must be one of pending, delivered, dead/],
    [['list', '--user', 'nope'], /--user must be a user id/],
    [['list', '--all'], /list takes no --all/],
    [['list', '--limit', '0'], /--limit/],
  ];
  for (const [argv, message] of cases) {
    const { code, stderr } = await run(store, argv);
    assert.equal(code, 64, argv.join(' '));
    assert.match(stderr, message);
  }
});

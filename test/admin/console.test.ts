import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { EXIT } from '../../src/admin/command.ts';
import { consoleCommand } from '../../src/admin/console.ts';
import { seedUser } from '../../src/admin/seed-users.ts';
import { captureIo, openTestContext } from './support.ts';

describe('admin console', () => {
  test('when the console has a terminal, then config, store and users are loaded and await works', async (t) => {
    const out = captureIo({
      tty: true,
      stdin: 'await users.count()\nstore.kind + "/" + config.logLevel\n.exit\n',
    });
    const context = await openTestContext(t, 'sqlite::memory:', out.io);
    await context.store.migrate();
    await context.store.importMany([seedUser(1, 0), seedUser(1, 1)], { mode: 'newer' });
    assert.equal(await consoleCommand.run(context, consoleCommand.parse([])), EXIT.ok);
    const screen = stripVTControlCharacters(out.stdout());
    assert.match(screen, /^sqlite store loaded: config, store, users/);
    assert.match(screen, /await users\.count\(\)\r?\n2\n/);
    assert.match(screen, /'sqlite\/info'/);
  });

  test('when stdin is not a terminal, then the console refuses with exit 64 and opens no REPL', async (t) => {
    const out = captureIo({ stdin: 'users\n' });
    const context = await openTestContext(t, 'sqlite::memory:', out.io);
    assert.equal(await consoleCommand.run(context, consoleCommand.parse([])), EXIT.usage);
    assert.equal(out.stdout(), '');
    assert.match(out.stderr(), /needs an interactive terminal/);
  });
});

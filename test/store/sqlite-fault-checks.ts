import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { TestApp } from '../support/app.ts';

type Answer = Awaited<ReturnType<TestApp['app']['inject']>>;

/**
 * What the disk-fault tests ask of a write the store could not make: 503 STORE_UNAVAILABLE
 * with Retry-After as a problem document, no SQLite text in it, and the real cause (`cause`,
 * e.g. /SQLITE_FULL/) in the log, never a secondary "cannot rollback" error in its place.
 */
export function assertRefused(app: TestApp, answer: Answer, cause: RegExp): void {
  assert.equal(answer.statusCode, 503, answer.body);
  assert.equal(answer.headers['retry-after'], '5');
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  assert.equal(answer.json().code, 'STORE_UNAVAILABLE');
  assert.doesNotMatch(answer.body, /SQLITE|rollback|errno/i);
  const logged = JSON.stringify(app.logs.filter((line) => line.code === 'STORE_UNAVAILABLE'));
  assert.match(logged, cause, 'the log carries the real cause');
  assert.doesNotMatch(JSON.stringify(app.logs), /cannot rollback|no such savepoint/);
}

/**
 * The writes a client saw acknowledged (2xx), as the store should hold them: each user's name,
 * and the events, one per acknowledged write, written with it.
 */
export class Acknowledged {
  readonly users = new Map<string, string>();
  readonly events: string[] = [];

  created(answer: Answer): string {
    assert.equal(answer.statusCode, 201, answer.body);
    const { id, name } = answer.json() as { id: string; name: string };
    this.users.set(id, name);
    this.events.push(`user.created ${id}`);
    return id;
  }

  updated(answer: Answer): void {
    assert.equal(answer.statusCode, 200, answer.body);
    const { id, name } = answer.json() as { id: string; name: string };
    this.users.set(id, name);
    this.events.push(`user.updated ${id}`);
  }

  deleted(id: string, answer: Answer): void {
    assert.ok(answer.statusCode === 200 || answer.statusCode === 204, answer.body);
    this.users.delete(id);
    this.events.push(`user.deleted ${id}`);
  }

  /**
   * The SQLite file (with its WAL) passes `PRAGMA integrity_check` and holds exactly the
   * acknowledged users and events: nothing acknowledged is missing, nothing refused is there,
   * and no user lacks its event nor any event its write.
   */
  assertStored(file: string): void {
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const users = db.prepare('select id, name from users').all() as {
        id: string;
        name: string;
      }[];
      assert.deepEqual(new Map(users.map((u) => [u.id, u.name])), this.users);
      const events = db.prepare('select type, user_id from outbox_events').all() as {
        type: string;
        user_id: string;
      }[];
      assert.deepEqual(events.map((e) => `${e.type} ${e.user_id}`).sort(), [...this.events].sort());
    } finally {
      db.close();
    }
  }
}

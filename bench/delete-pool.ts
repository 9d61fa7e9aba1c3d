/**
 * Users for the DELETE scenario: each can be deleted once, so every server gets its own ids,
 * inserted straight into the users table before the scenario (over HTTP it would take longer
 * than the scenario itself). They carry no e-mail, as the seeded users.
 */
import Database from 'better-sqlite3';
import pg from 'pg';

/** `count` ids starting with `prefix` (two hex digits): 24 hex digits, as the service's ids. */
const SQLITE_FILL = `with recursive n(i) as (select 0 union all select i + 1 from n where i + 1 < ?)
  insert into users (id, name, email, email_key, created_at, updated_at)
  select printf('%s%022x', ?, i), 'doomed-' || i, null, null, ?, ? from n`;
const PG_FILL = `insert into users (id, name, email, email_key, created_at, updated_at)
  select $1 || lpad(to_hex(i), 22, '0'), 'doomed-' || i, null, null, now(), now()
  from generate_series(0, $2::int - 1) as i`;

export const doomedId = (prefix: string, i: number) => prefix + i.toString(16).padStart(22, '0');

export async function fillDeletePool(url: string, prefix: string, count: number): Promise<void> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { timeout: 10_000 });
    try {
      const now = new Date().toISOString();
      db.prepare(SQLITE_FILL).run(count, prefix, now, now);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(PG_FILL, [prefix, count]);
  } finally {
    await client.end();
  }
}

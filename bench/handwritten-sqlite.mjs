import { randomBytes } from 'node:crypto';
import process from 'node:process';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

// What a user would write instead of adopting the service, on SQLite: Fastify, one prepared
// statement per request, no logs, no metrics, no outbox. The bench measures the service against
// it on the same database file. Plain JavaScript, as the web process runs from dist/. WAL with
// `synchronous = NORMAL`, as such a handler is usually written: its commits are acknowledged
// from the page cache, where the service's (`FULL`) each wait for an fsync of the WAL, shared by
// the commits that arrive together. On writes the comparison favours this handler.
const db = new Database(process.env.DATABASE_URL.replace(/^sqlite:/, ''), { timeout: 5000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');

const COLUMNS = 'id, name, email, created_at as createdAt, updated_at as updatedAt';
const byId = db.prepare(`select ${COLUMNS} from users where id = ?`);
const page = db.prepare(`select ${COLUMNS}, count(*) over () as total from users limit ? offset ?`);
const insert = db.prepare(
  `insert into users (id, name, email, email_key, created_at, updated_at) values (?, ?, null, null, ?, ?)`,
);
const update = db.prepare(
  `update users set name = ?, updated_at = ? where id = ? returning ${COLUMNS}`,
);
const remove = db.prepare(`delete from users where id = ? returning ${COLUMNS}`);

const app = Fastify({ logger: false });
app.get('/user/:id', (request, reply) => {
  const user = byId.get(request.params.id);
  if (!user) return reply.code(404).send({ error: 'not found' });
  return user;
});
app.get('/user', (request, reply) => {
  const rows = page.all(Number(request.query.limit ?? 30), Number(request.query.skip ?? 0));
  reply.header('x-total-count', rows[0]?.total ?? 0);
  return rows.map(({ total: _total, ...user }) => user);
});
app.post('/user', (request, reply) => {
  const now = new Date().toISOString();
  const user = { id: randomBytes(12).toString('hex'), name: request.query.name, email: null };
  insert.run(user.id, user.name, now, now);
  return reply.code(201).send({ ...user, createdAt: now, updatedAt: now });
});
app.put('/user/:id', (request, reply) => {
  const user = update.get(request.query.name, new Date().toISOString(), request.params.id);
  if (!user) return reply.code(404).send({ error: 'not found' });
  return user;
});
app.delete('/user/:id', (request, reply) => {
  const user = remove.get(request.params.id);
  if (!user) return reply.code(404).send({ error: 'not found' });
  return user;
});
app.get('/readyz', () => ({ status: 'ok' }));

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
